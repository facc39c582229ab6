"""How helpful members find tips, by age band and theme.

Question: are tips in some themes, or from some age groups, found more
helpful than others? Health-Thing is a *social learning* platform: members
learn from each other, so where peer advice lands well (and where it does
not) shows where expert content or moderation would help most.

Released:

- ``votes_by_age_theme``: per author age band and theme, the number of tips
  (``tips``) and their mean helpful votes (``mean_votes``); 70% of ε.
- ``votes_by_theme``: per theme, the median and 90th percentile of helpful
  votes (``median_votes``, ``p90_votes``), robust to a few viral tips; 30% of ε.

Votes are clamped to the policy's bounds (0 to 50) before averaging, so the
mean is of clamped votes; the release states the bounds through the plan.
"""

from gateway.analyses import Analysis, col, count, mean, median, quantile, table

tips = table("tips").join_members()

votes_by_age_theme = tips.group_by(col("members.age_band"), "theme").agg(
    count().alias("tips"),
    mean("helpful_votes").alias("mean_votes"),
)

votes_by_theme = (
    table("tips")
    .group_by("theme")
    .agg(
        median("helpful_votes").alias("median_votes"),
        quantile("helpful_votes", 0.9).alias("p90_votes"),
    )
)

analysis = Analysis(
    "helpfulness_by_age",
    description="Helpful votes on tips per author age band and theme.",
)
analysis.add("votes_by_age_theme", votes_by_age_theme, share=0.7)
analysis.add("votes_by_theme", votes_by_theme, share=0.3)
