"""Which themes members follow together, as far as a DP plan can say it.

Question: do the people who follow one learning theme also follow another
(sleep and stress, diabetes and nutrition)? That tells Health-Thing which
themes to cross-link and which experts to bring together.

The direct answer is a count of members per *pair* of followed themes. That
needs a self-join of ``theme_follows`` on the member, and a query plan (like
the SQL the gateway accepts) joins a table only with ``members``: pairs
cannot be expressed, so this template does not pretend to. It releases what
can be answered soundly and points in the same direction: the audience of
each theme. Themes whose followers have the same age and regional profile
are candidates for being followed together; a reviewer can then approve a
dedicated pair query once the plan format supports one.

Released:

- ``followers_by_theme_age``: distinct followers per theme and age band; 50% of ε.
- ``followers_by_theme_province``: distinct followers per theme and province; 50% of ε.

Theme, age band and province all have public domains in the policy, so every
cell is released (none is withheld), each with its confidence interval.
"""

from gateway.analyses import Analysis, col, count_members, table

follows = table("theme_follows").join_members()

followers_by_theme_age = follows.group_by("theme", col("members.age_band")).agg(
    count_members().alias("followers")
)

followers_by_theme_province = follows.group_by("theme", col("members.province")).agg(
    count_members().alias("followers")
)

analysis = Analysis(
    "themes_followed_together",
    description="Audience profile (age band, province) of each learning theme's followers.",
)
analysis.add("followers_by_theme_age", followers_by_theme_age, share=0.5)
analysis.add("followers_by_theme_province", followers_by_theme_province, share=0.5)
