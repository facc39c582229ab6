"""Theme popularity over time.

Question: which learning themes do members turn to, and how does that change
from month to month? Health-Thing's themes (sleep, stress, nutrition, ...)
are the core of its mission; knowing which ones grow, fade or peak by season
tells the platform where to invest in content and moderators.

Released, per theme and calendar month:

- ``tips_by_theme_month``: tips shared (``tips``) and distinct members who
  shared them (``members``); 60% of ε.
- ``follows_by_theme_month``: members who started following the theme that
  month (``new_follows``); 40% of ε.

A member adds at most the policy's contribution bounds to each cell (for
tips: 20 tips in each of at most 24 theme-months), so one very active member
cannot dominate a trend. Months are not a public key set, so months with few
contributors are withheld by partition selection; the release says how many.
"""

from gateway.analyses import Analysis, col, count, count_members, table

tips_by_theme_month = (
    table("tips")
    .group_by("theme", col("created_month").alias("month"))
    .agg(count().alias("tips"), count_members().alias("members"))
    .sort("month", "theme")
)

follows_by_theme_month = (
    table("theme_follows")
    .group_by("theme", col("followed_month").alias("month"))
    .agg(count().alias("new_follows"))
    .sort("month", "theme")
)

analysis = Analysis(
    "theme_popularity",
    description="Tips shared and new follows per learning theme and month.",
)
analysis.add("tips_by_theme_month", tips_by_theme_month, share=0.6)
analysis.add("follows_by_theme_month", follows_by_theme_month, share=0.4)
