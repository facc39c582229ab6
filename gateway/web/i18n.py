"""Every word the pages show, in Dutch (the default) and English."""

from __future__ import annotations

from typing import Literal

Lang = Literal["nl", "en"]
LANGS: tuple[Lang, ...] = ("nl", "en")
DEFAULT: Lang = "nl"

MESSAGES: dict[str, tuple[str, str]] = {
    # navigation and frame
    "site": ("Health-Thing onderzoeksgateway", "Health-Thing research gateway"),
    "insights": ("Inzichten", "Insights"),
    "register": ("Projectregister", "Project register"),
    "workspace": ("Werkplek", "Workspace"),
    "review": ("Beoordelen", "Review"),
    "login": ("Inloggen", "Sign in"),
    "logout": ("Uitloggen", "Sign out"),
    "signed_in_as": ("Ingelogd als", "Signed in as"),
    "skip_to_content": ("Naar de inhoud", "Skip to content"),
    "json_twin": ("Deze pagina als JSON", "This page as JSON"),
    "back": ("Terug", "Back"),
    # home
    "home_intro": (
        "Onderzoekers stellen vragen; de gateway geeft alleen antwoorden met "
        "differentiële privacy terug, nooit gegevens van leden.",
        "Researchers ask questions; the gateway only answers with differentially "
        "private numbers, never members' data.",
    ),
    # public register
    "register_intro": (
        "Goedgekeurde onderzoeksprojecten, met de leerthema's die ze dienen.",
        "Approved research projects and the learning themes they serve.",
    ),
    "themes": ("Thema's", "Themes"),
    "purpose": ("Doel", "Purpose"),
    "organisation": ("Organisatie", "Organisation"),
    "approved_on": ("Goedgekeurd op", "Approved on"),
    "budget": ("Privacybudget", "Privacy budget"),
    "budget_used": ("Privacybudget gebruikt", "Privacy budget used"),
    "of": ("van", "of"),
    "not_stated": ("niet opgegeven", "not stated"),
    "no_insights_yet": ("nog geen gepubliceerd", "none published yet"),
    "no_projects": ("Nog geen projecten.", "No projects yet."),
    # insights
    "insights_intro": (
        "Wat onderzoek met Health-Thing heeft opgeleverd. Elk getal is met ruis "
        "beschermd, zodat niemand herleidbaar is; de strepen tonen de onzekerheid.",
        "What research with Health-Thing found. Every number is protected with "
        "noise so that no one can be traced; the whiskers show the uncertainty.",
    ),
    "no_insights": ("Nog geen gepubliceerde inzichten.", "No published insights yet."),
    "published_on": ("Gepubliceerd op", "Published on"),
    "from_project": ("Uit het project", "From the project"),
    "interval": ("95%-betrouwbaarheidsinterval", "95% confidence interval"),
    "suppressed": (
        "groepen weggelaten omdat ze te klein waren",
        "groups left out because they were too small",
    ),
    "selection_members": (
        "groepen van minder dan ongeveer %s leden worden niet getoond",
        "groups of fewer than about %s members are not shown",
    ),
    "selection_records": (
        "groepen van minder dan ongeveer %s records worden niet getoond",
        "groups of fewer than about %s records are not shown",
    ),
    "value": ("Waarde", "Value"),
    "privacy_loss": ("Privacyverlies", "Privacy loss"),
    "mechanism_laplace": ("Laplace-ruis", "Laplace noise"),
    "mechanism_gaussian": ("normaal verdeelde ruis", "normally distributed noise"),
    "explain_heading": ("Hoe leest u deze getallen?", "How to read these numbers"),
    "explain_noise": (
        "Ruis: bij elk getal is met opzet een klein willekeurig getal opgeteld. Daardoor "
        "verandert een uitkomst bijna niet als één lid wel of niet meedoet, en is uit geen "
        "enkel getal af te leiden wat u deed. Kleine verschillen tussen groepen kunnen dus "
        "toeval zijn.",
        "Noise: a small random amount has been added to every number on purpose. A result "
        "then hardly changes whether or not any one member takes part, and no number "
        "reveals what you did. Small differences between groups may therefore be chance.",
    ),
    "explain_interval": (
        "Interval: de streep over elke staaf (en de getallen tussen haken in de tabel) geeft "
        "aan waar het echte getal met 95% zekerheid ligt. Overlappen twee strepen, dan is "
        "niet zeker welke groep groter is.",
        "Interval: the line across each bar (and the numbers in brackets in the table) shows "
        "where the true number lies with 95% certainty. If two lines overlap, it is not "
        "certain which group is larger.",
    ),
    "explain_epsilon": (
        "Privacyverlies (ε): hoeveel een uitkomst hoogstens over één lid kan verraden. Hoe "
        "kleiner, hoe beter beschermd en hoe meer ruis. Elk project heeft een vast budget "
        "en elke uitkomst gaat ervan af; is het op, dan krijgt het project geen uitkomsten "
        "meer.",
        "Privacy loss (ε): the most a result can give away about any one member. The "
        "smaller, the better protected and the noisier. Every project has a fixed budget "
        "and every result is taken from it; once it is spent, the project gets no more "
        "results.",
    ),
    "no_value": ("geen waarde", "no value"),
    "per": ("per", "by"),
    "chart_description": (
        "Staafdiagram met {bars} staven, één per {groups}; de lijn over elke staaf is het "
        "95%-betrouwbaarheidsinterval. De getallen staan ook in de tabel eronder.",
        "Bar chart with {bars} bars, one per {groups}; the line across each bar is its 95% "
        "confidence interval. The numbers are also in the table below.",
    ),
    "group": ("Groep", "Group"),
    # bounds: what bounding did to each column (gateway.web.bounds fills in the {names})
    "biased": ("VERTEKEND", "BIASED"),
    "bounds": ("Grenzen", "Bounds"),
    "bounds_heading": ("Wat elk getal telt", "What each number counts"),
    "bounds_counted": (
        "hoogstens {rows} {noun} per lid per {cell} geteld",
        "at most {rows} {noun} per member per {cell} counted",
    ),
    "bounds_averaged": (
        "de {noun} van elk lid tellen één keer per {cell}, als hun gemiddelde",
        "each member's {noun} count once per {cell}, as their average",
    ),
    "bounds_averaged_total": (
        "de {noun} van elk lid tellen één keer, als hun gemiddelde",
        "each member's {noun} count once, as their average",
    ),
    "bounds_averaged_more": (
        "een lid met meer telt als hun gemiddelde",
        "a member with more counts as their average",
    ),
    "bounds_counted_total": (
        "hoogstens {rows} {noun} per lid geteld",
        "at most {rows} {noun} per member counted",
    ),
    "bounds_members": (
        "elk lid in hoogstens {groups} groepen ({cell}) geteld",
        "each member counted in at most {groups} {cells}",
    ),
    "bounds_members_total": ("elk lid één keer geteld", "each member counted once"),
    "cut_members": (
        "ongeveer {share} van de leden viel weg",
        "about {share} of members were left out",
    ),
    "bounds_groups": ("in hoogstens {groups} groepen ({cell})", "in at most {groups} {cells}"),
    "bounds_clamp": (
        "elke waarde begrensd tot [{low}, {high}]",
        "each value clamped to [{low}, {high}]",
    ),
    "bounds_chosen": ("met DP gekozen voor deze vraag", "chosen for this query with DP"),
    "bounds_fixed": ("vastgezet door de onderzoeker", "fixed by the researcher"),
    "mean_group": ("in een groep van {values} waarden", "in a group of {values} values"),
    "bounds_policy": ("vastgesteld door het beleid", "set by the policy"),
    "too_noisy": (
        "{count} waarden worden niet getoond: de ruis bracht ze buiten het bereik",
        "{count} values are not shown: noise carried them outside the clamp range",
    ),
    "cut_rows": (
        "ongeveer {share} van de {noun} viel weg",
        "about {share} of {noun} were left out",
    ),
    "cut_value": (
        "ongeveer {share} van het onbegrensde antwoord viel weg",
        "about {share} of the unbounded answer was cut off",
    ),
    "cut_error": ("(± {error})", "(± {error})"),
    "cut_unknown": (
        "hoeveel de begrenzing wegliet is niet geschat",
        "what bounding cut is not estimated",
    ),
    "biased_researcher": (
        "er viel meer weg dan het beleid toestaat, dus dit getal is waarschijnlijk een "
        "onderschatting",
        "more was cut than the policy tolerates, so this number is likely an underestimate",
    ),
    "interval_bounded": (
        "het interval is dat van het begrensde getal",
        "its interval is that of the bounded value",
    ),
    "interval_widened": (
        "het interval is met die schatting naar boven verruimd, zodat het het onbegrensde "
        "antwoord omvat als de schatting klopt",
        "its interval is widened upwards by that cut, so it covers the unbounded answer when "
        "the estimate holds",
    ),
    "bounds_epsilon": (
        "ε = {part} van ε = {whole} ging naar het kiezen van de grenzen en het schatten "
        "van wat ze afsneden",
        "ε = {part} of ε = {whole} went to choosing the bounds and estimating what they cut",
    ),
    "member_covers": (
        "Het interval geldt voor het getal zoals het geteld is: {counted}",
        "The interval is for the number as it was counted: {counted}",
    ),
    "member_counted": (
        "Dit getal is zo geteld: {counted}",
        "This number was counted so: {counted}",
    ),
    "member_widened": (
        "Dit getal is zo geteld: {counted}; {cut}. Het interval is daarom naar boven "
        "verruimd, zodat het ook het volledige getal zou moeten omvatten.",
        "This number was counted so: {counted}; {cut}. The interval is widened upwards by "
        "that, so it should hold the full number too.",
    ),
    "member_biased": (
        "Dit getal is waarschijnlijk een onderschatting: er viel meer weg dan onze "
        "regels toestaan.",
        "This number is likely an underestimate: more was left out than our rules allow.",
    ),
    "no_interval": (
        "een mediaan of kwantiel heeft geen interval; lees het als een ruwe waarde",
        "a median or quantile has no interval; read it as a rough value",
    ),
    # the rows a query counts, by extract table: (one, many)
    "noun_rows": ("rij|rijen", "row|rows"),
    "noun_tips": ("tip|tips", "tip|tips"),
    "noun_theme_follows": ("gevolgd thema|gevolgde thema's", "theme follow|theme follows"),
    "noun_support_requests": ("hulpvraag|hulpvragen", "support request|support requests"),
    # how your data is protected (the rest of its text is in gateway.web.protection)
    "privacy": ("Uw gegevens", "Your data"),
    "privacy_title": ("Hoe uw gegevens beschermd zijn", "How your data is protected"),
    "privacy_intro": (
        "Wat Health-Thing u in de privacyverklaring belooft, hoe deze gateway dat waarmaakt, "
        "en hoe u uw rechten gebruikt.",
        "What Health-Thing promises you in its privacy statement, how this gateway keeps it, "
        "and how to use your rights.",
    ),
    "promises_heading": ("Wat we beloven", "What we promise"),
    "kept_by": ("Zo houden we ons eraan", "How we keep it"),
    "safeguards_heading": ("De waarborgen van de gateway", "The gateway's safeguards"),
    "safeguard": ("Waarborg", "Safeguard"),
    "protects_against": ("Beschermt tegen", "Protects against"),
    "rights_heading": ("Uw rechten en hoe u ze gebruikt", "Your rights and how to use them"),
    "how_to_use": ("Hoe", "How"),
    "what_happens": ("Wat er dan gebeurt", "What happens then"),
    "within_month": (
        "Binnen {days} dagen gebruikt geen enkel onderzoek nog gegevens die u hebt "
        "ingetrokken, beperkt of laten wissen: onderzoeksgegevens verlopen na hoogstens "
        "{days} dagen, en een wijziging van uw keuzes maakt ze meteen verouderd, zodat ze "
        "opnieuw worden gebouwd voordat er nog een vraag over gaat.",
        "Within {days} days no research uses data you withdrew, restricted or had erased: "
        "research data expires after at most {days} days, and a change of your choices makes "
        "it stale at once, so that it is rebuilt before another question runs over it.",
    ),
    "published_stays": (
        "Inzichten die al gepubliceerd zijn, blijven staan. Ze zijn met ruis beschermd en "
        "zouden vrijwel hetzelfde zijn zonder u; er valt niets uit te halen over u.",
        "Insights already published stay. They are protected with noise and would be almost "
        "the same without you; nothing about you can be taken from them.",
    ),
    "questions_heading": ("Vragen of een klacht", "Questions or a complaint"),
    "contact_dpo": (
        "Schrijf de functionaris voor gegevensbescherming van Health-Thing:",
        "Write to Health-Thing's data protection officer:",
    ),
    "contact_platform": (
        "Neem contact op met de functionaris voor gegevensbescherming van Health-Thing via "
        "Privacy in uw account.",
        "Contact Health-Thing's data protection officer under Privacy in your account.",
    ),
    "complaint": (
        "Bent u niet tevreden met ons antwoord, dan kunt u een klacht indienen bij de "
        "Autoriteit Persoonsgegevens.",
        "If you are not satisfied with our answer, you can complain to the Dutch Data "
        "Protection Authority (Autoriteit Persoonsgegevens).",
    ),
    # what all research together spent on members (the platform's cap, docs/privacy.md)
    "loss_heading": (
        "Wat al het onderzoek samen van uw privacy vraagt",
        "What all research together asks of your privacy",
    ),
    "loss_intro": (
        "Elk vrijgegeven getal kost een beetje privacy, uitgedrukt in ε (epsilon): hoe "
        "kleiner ε, hoe minder er uit de getallen over één persoon te leren valt. Elk project "
        "heeft een eigen budget, en daarboven geldt één grens voor al het onderzoek samen: "
        "in 365 dagen nooit meer dan ε = {cap} voor u.",
        "Every released number costs a little privacy, counted as ε (epsilon): the smaller "
        "ε, the less the numbers can teach anyone about one person. Each project has its own "
        "budget, and above them all one limit holds for all research together: never more "
        "than ε = {cap} for you in 365 days.",
    ),
    "loss_cohort_none": ("Als u geen extra toestemming gaf", "If you gave no extra consent"),
    "loss_cohort_some": ("Als u toestemming gaf voor {purposes}", "If you consented to {purposes}"),
    "loss_used": (
        "In de afgelopen 365 dagen heeft al het onderzoek samen ε = {used} gebruikt van de "
        "{cap} die voor u zijn toegestaan.",
        "In the last 365 days, all research together has used ε = {used} of the {cap} "
        "allowed for you.",
    ),
    "loss_chart": ("ε per maand", "ε per month"),
    "monthly_description": (
        "Staafdiagram met {months} maanden, een staaf per maand.",
        "Bar chart of {months} months, one bar per month.",
    ),
    "loss_delta": (
        "Ook δ, de kleine kans dat de bescherming van een resultaat niet opgaat, heeft zo'n "
        "grens: gebruikt {used} van {cap}.",
        "δ, the small chance that a result's protection does not hold, has such a limit "
        "too: {used} used of {cap}.",
    ),
    "loss_counted": (
        "Onderzoek voor de missie van Health-Thing telt voor alle leden; onderzoek waarvoor "
        "toestemming nodig is alleen voor wie die gaf. Een resultaat telt 365 dagen mee en "
        "valt daarna weg. Een vraag die meer zou kosten dan er over is, wordt geweigerd "
        "voordat er gegevens worden gelezen.",
        "Research for Health-Thing's mission counts for every member; research that needs "
        "consent only for those who gave it. A result counts for 365 days, then drops out. "
        "A question that would cost more than is left is refused before any data is read.",
    ),
    "purpose_external_research": ("extern onderzoek", "external research"),
    "platform_loss": (
        "Privacyverlies per lid, alle projecten samen",
        "Privacy loss per member, all projects together",
    ),
    "platform_loss_help": (
        "Per groep leden, in de afgelopen 365 dagen, tegen de grens van het beleid "
        "(budget.platform_epsilon_per_year). Een budget dat u toekent, kan alleen worden "
        "besteed zolang deze grens het toelaat.",
        "Per cohort of members, in the last 365 days, against the policy's cap "
        "(budget.platform_epsilon_per_year). A budget you grant can only be spent while "
        "this cap allows.",
    ),
    "cohort": ("Leden", "Members"),
    "cohort_everyone": ("zonder extra toestemming", "with no extra consent"),
    "over_platform": (
        "Gevraagd ε is meer dan de leden van dit doel dit jaar nog over hebben",
        "The ε asked is more than this purpose's members have left this year",
    ),
    # login
    "token": ("API-token", "API token"),
    "login_help": (
        "Plak uw API-token. De browser bewaart het token niet: u krijgt een eigen sessie, "
        "die eindigt als u uitlogt, na 30 minuten zonder gebruik of na 8 uur.",
        "Paste your API token. The browser does not keep the token: you get a session of "
        "your own, which ends when you sign out, after 30 minutes unused or after 8 hours.",
    ),
    "redeem_title": ("Uitnodiging inwisselen", "Redeem an invitation"),
    "redeem": ("Inwisselen", "Redeem"),
    "redeem_help": (
        "Plak de uitnodigingscode die u van een beheerder kreeg. U krijgt er één keer een "
        "eigen API-token voor; daarna werkt de code niet meer.",
        "Paste the invitation code an administrator gave you. It gives you your own API "
        "token, once; after that the code no longer works.",
    ),
    "your_token_once": (
        "Dit is uw token. Bewaar het nu op een veilige plek: het wordt nooit meer getoond, "
        "ook niet aan een beheerder. Log ermee in of gebruik het voor de API.",
        "This is your token. Keep it somewhere safe now: it is never shown again, not even "
        "to an administrator. Sign in with it, or use it for the API.",
    ),
    # workspace
    "your_projects": ("Uw projecten", "Your projects"),
    "propose": ("Project voorstellen", "Propose a project"),
    "title": ("Titel", "Title"),
    "summary": ("Samenvatting", "Summary"),
    "requested_epsilon": ("Gevraagd budget (ε)", "Requested budget (ε)"),
    "status": ("Status", "Status"),
    "remaining": ("Resterend", "Remaining"),
    "spent": ("Besteed", "Spent"),
    "held": ("Gereserveerd", "Held"),
    "delta_explained": (
        "Elk resultaat kost ook δ, hoe klein ε ook is; δ begrenst dus hoeveel "
        "resultaten een project in totaal krijgt. Een vraag die mislukt nadat de "
        "gegevens zijn gelezen, kost haar volle ε en δ.",
        "Every result also spends δ, however small its ε; so δ caps how many "
        "results a project gets in all. A query that fails after the data was "
        "read costs its full ε and δ.",
    ),
    "query": ("Vraag (SQL)", "Query (SQL)"),
    "query_text": ("De vraag in SQL", "The query in SQL"),
    "template": ("Sjabloon", "Template"),
    "epsilon": ("ε voor deze vraag", "ε for this query"),
    "vet": ("Controleren", "Check"),
    "submit": ("Indienen", "Submit"),
    "jobs": ("Vragen", "Queries"),
    "job": ("Vraag", "Query"),
    "release": ("Resultaat", "Result"),
    "schema": ("Tabellen en kolommen", "Tables and columns"),
    "schema_intro": (
        "Wat u in een vraag mag gebruiken, volgens het beleid. Niemand ziet de gegevens zelf: "
        "elke uitkomst is een telling, som, gemiddelde of kwantiel met ruis, per lid begrensd.",
        "What a query may use, as the policy says. No one sees the data itself: every "
        "result is a count, sum, mean or quantile with noise, bounded per member.",
    ),
    "schema_aggregations": ("Toegestane bewerkingen", "Allowed aggregates"),
    "epsilon_cap": ("Hoogste ε per vraag", "Highest ε per query"),
    "schema_contributions": (
        "Hoogstens rijen van één lid per groep",
        "At most rows of one member per group",
    ),
    "schema_groups": ("Hoogstens groepen per lid", "At most groups per member"),
    "schema_column": ("Kolom", "Column"),
    "schema_role": ("Rol", "Role"),
    "schema_type": ("Type", "Type"),
    "schema_values": ("Waarden of bereik", "Values or range"),
    "schema_use": ("Gebruik", "Use"),
    "schema_private_keys": (
        "niet openbaar: alleen groepen die groot genoeg zijn worden getoond",
        "not public: only groups large enough are shown",
    ),
    "download": ("Downloaden", "Download"),
    "analysis_code": ("Vraag in Python (analyse)", "Ask in Python (analysis)"),
    "analysis_code_help": (
        "De code draait zonder gegevens in een afgeschermde omgeving en bouwt alleen een plan; "
        "elke vraag erin wordt gecontroleerd voordat iets draait. Fouten komen terug met hun "
        "regelnummer.",
        "The code runs without data in a sandbox and only builds a plan; every query in it "
        "is checked before anything runs. Problems come back with their line numbers.",
    ),
    "line": ("regel", "line"),
    "purpose_help": (
        "Het doel bepaalt welke leden meetellen: mission (de eigen analyse van het platform) "
        "telt alle leden mee; elk ander doel alleen leden die daar zelf toestemming voor gaven.",
        "The purpose decides which members count: mission (the platform's own analysis) "
        "counts every member; any other purpose only members who consented to it.",
    ),
    "epsilon_help": (
        "ε is het privacybudget van het project: elke vraag besteedt er een deel van. Meer ε "
        "geeft nauwkeuriger antwoorden maar zegt meer over ieder lid; een beoordelaar kent het "
        "toe en kan het later aanvullen.",
        "ε is the project's privacy budget: every query spends part of it. More ε gives more "
        "accurate answers but says more about each member; a reviewer grants it and may top "
        "it up later.",
    ),
    "recent_jobs": ("Recente vragen", "Recent queries"),
    "recent_jobs_help": (
        "Ook de vragen die zonder beoordeling liepen (het beleid laat ze direct lopen binnen "
        "het ε-plafond en het budget); alle vragen staan in GET /api/jobs.",
        "Those that ran without review too (the policy lets them run at once within the ε "
        "cap and the budget); every query is in GET /api/jobs.",
    ),
    "not_submitted": ("Niet ingediend", "Not submitted"),
    "refusal_kept": (
        "De weigering is bewaard, zodat u en de beoordelaars haar terugzien:",
        "The refusal is kept, so that you and the reviewers can see it again:",
    ),
    "dummy": ("proefdata", "dummy data"),
    "dummy_run": ("Proefdraaien op proefdata", "Try on dummy data"),
    "dummy_explained": (
        "Proefdraaien: deze vraag liep op proefdata die uit het beleid zijn gemaakt, zonder "
        "echte leden. Dat kost geen budget; de uitkomsten zeggen niets over leden en worden "
        "nooit gepubliceerd.",
        "A dummy run: this query ran on dummy data made from the policy, with no real member "
        "in it. It costs no budget; its numbers say nothing about members and are never "
        "published.",
    ),
    "decision_note": ("Toelichting", "Note"),
    "not_approved_yet": (
        "Dit project is nog niet goedgekeurd; er kan nog niets worden uitgevoerd.",
        "This project is not approved yet; nothing can run for it.",
    ),
    "no_extract_yet": (
        "Er is nog geen extract voor dit project; een beheerder maakt het. Vragen "
        "kunt u al controleren; ingediende vragen mislukken tot dan (hun ε komt terug).",
        "This project has no extract yet; an administrator builds it. You can check "
        "queries now; submitted ones fail until then (their ε is refunded).",
    ),
    "analysis_template": ("Of een analysesjabloon", "Or an analysis template"),
    "run_template": ("Sjabloon indienen", "Submit template"),
    "predicted_accuracy": ("Verwachte nauwkeurigheid", "Predicted accuracy"),
    "fix_bounds": ("Grenzen zelf vastzetten", "Fix the bounds yourself"),
    "fix_bounds_help": (
        "Leeg gelaten kiest de gateway elke grens per vraag met DP, binnen het beleid. "
        "Vastgezet: hoeveel rijen van één lid per groep tellen (rows_per_group), in hoeveel "
        "groepen (groups), en per maat een bereik (clamps); de nauwkeurigheid is dan vooraf "
        "te voorspellen.",
        "Left empty, the gateway chooses each bound per query with DP, within the policy. "
        "Fixed: how many rows of one member count per group (rows_per_group), in how many "
        "groups (groups), and a range per measure (clamps); accuracy can then be predicted "
        "beforehand.",
    ),
    "bounds_note": (
        "De grenzen worden per vraag met DP gekozen; de nauwkeurigheid is pas na het "
        "resultaat bekend.",
        "Bounds are chosen per query with DP; accuracy is known after the release.",
    ),
    "cost": ("Kosten", "Cost"),
    "allowed": ("Toegestaan", "Allowed"),
    "refused": ("Geweigerd", "Refused"),
    # review console
    "to_decide": ("Projecten om te beoordelen", "Projects to decide"),
    "approved_projects": ("Goedgekeurde projecten", "Approved projects"),
    "review_queue": ("Vragen om te beoordelen", "Queries to review"),
    "to_publish": ("Resultaten om te publiceren", "Results to publish"),
    "approve": ("Goedkeuren", "Approve"),
    "reject": ("Afwijzen", "Reject"),
    "granted_epsilon": ("Toegekend budget (ε)", "Granted budget (ε)"),
    "granted_delta": ("Toegekend budget (δ)", "Granted budget (δ)"),
    "granted": ("Toegekend", "Granted"),
    "vetted_plan": ("Gecontroleerd plan", "Vetted plan"),
    "plan_reads": ("Tabellen", "Tables"),
    "plan_bounds": ("Grenzen per lid", "Bounds per member"),
    "plan_where": ("Filters", "Filters"),
    "plan_groups": ("Groepen", "Groups"),
    "plan_releases": ("Aggregaat", "Aggregate"),
    "plan_order": ("Volgorde", "Order"),
    "plan_limit": ("Limiet", "Limit"),
    "analysis_plan_later": (
        "Een analyse bouwt haar plan pas als ze draait; dat plan wordt dan gecontroleerd en "
        "elk deel staat bij het resultaat.",
        "An analysis builds its plan only when it runs; the plan is vetted then, and each part "
        "is shown with the result.",
    ),
    "budget_adds_up": (
        "Toegekend = gereserveerd (door lopende vragen) + besteed + resterend.",
        "Granted = held (by running queries) + spent + remaining.",
    ),
    "top_up": ("Budget aanvullen", "Top up the budget"),
    "top_ups": ("Aanvullingen na goedkeuring", "Top-ups after approval"),
    "add_epsilon": ("ε erbij", "ε to add"),
    "policy_default_epsilon": ("Standaard per project (beleid)", "Default per project (policy)"),
    "policy_max_epsilon": (
        "Hoogstens per project in totaal (beleid)",
        "Most per project in all (policy)",
    ),
    "researcher": ("Onderzoeker", "Researcher"),
    "reviewer": ("Beoordelaar", "Reviewer"),
    "date": ("Datum", "Date"),
    "publish": ("Publiceren", "Publish"),
    "preview": ("Voorbeeld", "Preview"),
    "preview_first": (
        "U ziet eerst precies wat leden te zien krijgen, in beide talen, met de kanttekeningen "
        "die u moet bevestigen; pas daarna publiceert u.",
        "You first see exactly what members will see, in both languages, with the caveats you "
        "must acknowledge; only then do you publish.",
    ),
    "preview_notice": (
        "Voorbeeld, nog niet gepubliceerd: zo zien leden dit inzicht zodra u publiceert.",
        "Preview, not published yet: this is how members will see this insight once you "
        "publish it.",
    ),
    "preview_nl": ("Voorbeeld in het Nederlands", "Preview in Dutch"),
    "preview_en": ("Voorbeeld in het Engels", "Preview in English"),
    "caveats": ("Kanttekeningen", "Caveats"),
    "no_caveats": (
        "Geen: elk getal heeft een interval, geen kolom is vertekend, geen groep is klein en "
        "geen interval is breder dan zijn waarde.",
        "None: every number has an interval, no column is biased, no group is tiny and no "
        "interval is wider than its value.",
    ),
    "cells": ("cellen", "cells"),
    "caveat_biased": (
        "Vertekend: de grenzen sneden meer weg dan het beleid toestaat; waarschijnlijk een "
        "onderschatting",
        "Biased: bounding cut more than the policy tolerates; likely an underestimate",
    ),
    "caveat_no_interval": (
        "Zonder interval: een mediaan of kwantiel; leden zien niet hoe onzeker het is",
        "No interval: a median or quantile; members cannot see how uncertain it is",
    ),
    "caveat_tiny_groups": (
        "Kleine groepen: tellingen onder de drempel van het beleid zijn vooral ruis",
        "Tiny groups: counts below the policy's threshold are mostly noise",
    ),
    "caveat_wide_intervals": (
        "Brede intervallen: het interval is breder dan de waarde zelf",
        "Wide intervals: the interval is wider than the value itself",
    ),
    "acknowledge_biased": (
        "Ik heb gelezen wat elke vertekende kolom betekent; leden lezen erbij dat het getal "
        "waarschijnlijk een onderschatting is.",
        "I have read what each biased column means; members will read beside it that the "
        "number is likely an underestimate.",
    ),
    "acknowledge_no_interval": (
        "Ik weet dat kolommen zonder interval gepubliceerd worden; de tekst zegt hoe onzeker ze "
        "zijn.",
        "I know columns without an interval will be published; the text says how uncertain "
        "they are.",
    ),
    "acknowledge_tiny_groups": (
        "Ik weet dat sommige tellingen zo klein zijn dat ze vooral ruis zijn.",
        "I know some counts are so small that they are mostly noise.",
    ),
    "acknowledge_wide_intervals": (
        "Ik weet dat sommige intervallen breder zijn dan hun waarde.",
        "I know some intervals are wider than their value.",
    ),
    "title_nl": ("Titel (Nederlands)", "Title (Dutch)"),
    "title_en": ("Titel (Engels)", "Title (English)"),
    "text_nl": ("Tekst (Nederlands)", "Text (Dutch)"),
    "text_en": ("Tekst (Engels)", "Text (English)"),
    "audit": ("Audittrail", "Audit trail"),
    "chain_intact": ("De hashketen is intact.", "The hash chain is intact."),
    "chain_broken": ("De hashketen is verbroken bij record", "The hash chain is broken at record"),
    "why_review": ("Waarom beoordelen", "Why review"),
    # administration
    "admin": ("Beheer", "Administration"),
    "users": ("Gebruikers", "Users"),
    "tokens": ("Tokens", "Tokens"),
    "extracts": ("Extracten", "Extracts"),
    "name": ("Naam", "Name"),
    "role": ("Rol", "Role"),
    "role_researcher": ("onderzoeker", "researcher"),
    "role_reviewer": ("beoordelaar", "reviewer"),
    "role_admin": ("beheerder", "administrator"),
    "created": ("Aangemaakt", "Created"),
    "actions": ("Acties", "Actions"),
    "active": ("actief", "active"),
    "disabled": ("uitgeschakeld", "disabled"),
    "revoked": ("ingetrokken", "revoked"),
    "expired": ("verlopen", "expired"),
    "disable": ("Uitschakelen", "Disable"),
    "disable_explained": (
        "Uitschakelen trekt meteen elk token en elke sessie van de gebruiker in; het account "
        "en alles wat het deed blijven bewaard voor de audittrail. U schakelt uzelf en de "
        "laatste beheerder niet uit.",
        "Disabling revokes every token and session of the user at once; the account and "
        "everything it did stay for the audit trail. Neither you nor the last administrator "
        "can be disabled.",
    ),
    "add_user": ("Gebruiker toevoegen", "Add a user"),
    "name_help": (
        "Kleine letters, cijfers, punt, streepje of liggend streepje; 2 tot 64 tekens.",
        "Lower-case letters, digits, dot, dash or underscore; 2 to 64 characters.",
    ),
    "token_label": ("Label", "Label"),
    "issue_token": ("Nieuw token", "New token"),
    "token_issued": ("Nieuw token", "New token"),
    "invitation": ("Uitnodiging", "Invitation"),
    "invitation_code": ("Uitnodigingscode", "Invitation code"),
    "invite": ("Uitnodigen", "Invite"),
    "invitation_once": (
        "Dit is de enige keer dat de code wordt getoond; de gateway bewaart alleen de hash. "
        "Geef hem de gebruiker langs een veilige weg: hij ruilt hem één keer in voor een eigen "
        "token dat alleen hij ziet.",
        "This is the only time the code is shown; the gateway keeps only its hash. Hand it to "
        "the user by a safe channel: they trade it once for their own token, which only they "
        "see.",
    ),
    "invitation_redeem": ("Inwisselen:", "To redeem:"),
    "token_once": (
        "Dit is de enige keer dat het token wordt getoond; de gateway bewaart alleen de hash. "
        "Geef het de gebruiker langs een veilige weg.",
        "This is the only time the token is shown; the gateway keeps only its hash. Hand it "
        "to the user by a safe channel.",
    ),
    "prefix": ("Begin", "Prefix"),
    "expires": ("Verloopt", "Expires"),
    "user": ("Gebruiker", "User"),
    "revoke": ("Intrekken", "Revoke"),
    "tokens_explained": (
        "Een ingetrokken token werkt meteen niet meer, ook niet voor sessies die ermee zijn "
        "geopend. Tokens worden getoond met hun begin, nooit in hun geheel.",
        "A revoked token stops working at once, and so do sessions opened with it. Tokens "
        "are shown by their prefix, never in full.",
    ),
    "project": ("Project", "Project"),
    "extract": ("Extract", "Extract"),
    "extract_path": ("Pad van het extract", "Extract path"),
    "freshness": ("Actualiteit", "Freshness"),
    "built": ("Gebouwd", "Built"),
    "set_extract": ("Extract instellen", "Set extract"),
    "extracts_explained": (
        "Actueel, verouderd of verlopen, zoals een vraag het extract zou beoordelen: volgens de "
        "ingelezen rechtenwijzigingen en de klok. `gateway extract status --source` vergelijkt "
        "ook met de bron. Een verouderd of verlopen extract wordt opnieuw gebouwd voordat er "
        "nog een vraag op draait.",
        "Fresh, stale or expired as a query would judge the extract: by the imported rights "
        "changes and the clock. `gateway extract status --source` also compares with the "
        "source. A stale or expired extract is rebuilt before any further query runs on it.",
    ),
    "extract_unset": ("geen extract", "no extract"),
    "extract_missing": ("ontbreekt", "missing"),
    "extract_fresh": ("actueel", "fresh"),
    "extract_stale": ("verouderd", "stale"),
    "extract_expired": ("verlopen", "expired"),
    "nothing": ("Niets.", "Nothing."),
    "error": ("Fout", "Error"),
    "hint": ("Tip", "Hint"),
}


def translate(key: str, lang: Lang) -> str:
    """The message ``key`` in ``lang``; a missing key is a bug, so it shows as itself."""
    nl, en = MESSAGES.get(key, (key, key))
    return nl if lang == "nl" else en
