"""Newcomer retention by joining month.

Question: of the members who joined in a given month, how many are still
sharing tips one, three, six months later? Whether newcomers stay is the
clearest sign that the platform helps them; a drop for some cohorts points at
an onboarding problem worth fixing.

Released (a classic cohort table):

- ``newcomers``: members per joining month, the cohort sizes; 20% of ε.
- ``active_by_cohort``: distinct members who shared a tip, per joining month
  and month of activity; 60% of ε. Divide by the cohort size for retention;
  the diagonal is each cohort's first month.
- ``following_by_cohort``: distinct members per joining month who follow at
  least one theme, a second sign of engagement; 20% of ε.

Each member counts at most once per cell, and in at most 24 activity months
(the policy's bound for tips), so a long-time member's later months may be
truncated; cohorts from the last two years are unaffected.
"""

from gateway.analyses import Analysis, col, count, count_members, table

newcomers = (
    table("members").group_by(col("joined_month").alias("cohort")).agg(count().alias("members"))
)

active_by_cohort = (
    table("tips")
    .join_members()
    .group_by(col("members.joined_month").alias("cohort"), col("created_month").alias("month"))
    .agg(count_members().alias("active"))
    .sort("cohort", "month")
)

following_by_cohort = (
    table("theme_follows")
    .join_members()
    .group_by(col("members.joined_month").alias("cohort"))
    .agg(count_members().alias("following"))
)

analysis = Analysis(
    "newcomer_retention",
    description="Cohort sizes and activity by joining month.",
)
analysis.add("newcomers", newcomers, share=0.2)
analysis.add("active_by_cohort", active_by_cohort, share=0.6)
analysis.add("following_by_cohort", following_by_cohort, share=0.2)
