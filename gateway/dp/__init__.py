"""DP engine: a vetted plan over an extract in, a differentially private release out."""
