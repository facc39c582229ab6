"""Support-request trends and time to close.

Question: what do members ask support about, is that changing, and how long
do they wait for an answer? Support quality is part of the service members
are promised; the privacy and account categories also show whether members
can exercise their rights easily.

Released:

- ``requests_by_category_month``: support requests per category and month; 40% of ε.
- ``time_to_close``: for closed requests, per category, how many were closed
  and the mean days to close; 30% of ε.
- ``days_to_close_spread``: per category, the median and 90th percentile of
  days to close, which a few very long cases cannot drag along; 30% of ε.

Open requests have no ``days_to_close`` and are left out of the last two
queries by their filter. Days are clamped to the policy's bounds (0 to 365).
Quantiles are released on their own: the DP engine computes them from the
values themselves, with their own mechanism, not alongside counts and sums.
"""

from gateway.analyses import Analysis, col, count, mean, median, quantile, table

requests = table("support_requests")
closed = requests.filter(col("days_to_close").is_not_null())

requests_by_category_month = requests.group_by("category", col("created_month").alias("month")).agg(
    count().alias("requests")
)

time_to_close = closed.group_by("category").agg(
    count().alias("closed"),
    mean("days_to_close").alias("mean_days"),
)

days_to_close_spread = closed.group_by("category").agg(
    median("days_to_close").alias("median_days"),
    quantile("days_to_close", 0.9).alias("p90_days"),
)

analysis = Analysis(
    "support_trends",
    description="Support requests per category and month, and days to close them.",
)
analysis.add("requests_by_category_month", requests_by_category_month, share=0.4)
analysis.add("time_to_close", time_to_close, share=0.3)
analysis.add("days_to_close_spread", days_to_close_spread, share=0.3)
