"""Support-request trends and time to close.

Question: what do members ask support about, is that changing, and how long
do they wait for an answer? Support quality is part of the service members
are promised; the privacy and account categories also show whether members
can exercise their rights easily.

Released:

- ``requests_by_category_month``: support requests per category and month; 50% of ε.
- ``time_to_close``: for closed requests, per category, the mean, median and
  90th percentile of days to close; 50% of ε.

Open requests have no ``days_to_close`` and are left out of the second query
by its filter. Days are clamped to the policy's bounds (0 to 365).
"""

from gateway.analyses import Analysis, col, count, mean, median, quantile, table

requests = table("support_requests")

requests_by_category_month = requests.group_by("category", col("created_month").alias("month")).agg(
    count().alias("requests")
)

time_to_close = (
    requests.filter(col("days_to_close").is_not_null())
    .group_by("category")
    .agg(
        count().alias("closed"),
        mean("days_to_close").alias("mean_days"),
        median("days_to_close").alias("median_days"),
        quantile("days_to_close", 0.9).alias("p90_days"),
    )
)

analysis = Analysis(
    "support_trends",
    description="Support requests per category and month, and days to close them.",
)
analysis.add("requests_by_category_month", requests_by_category_month, share=0.5)
analysis.add("time_to_close", time_to_close, share=0.5)
