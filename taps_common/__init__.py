"""Code both taps share: HTTP client, retries, rate limiting, fan-out, redaction, errors.

Nothing here names Segment or Fivetran; each tap supplies its envelope, paginator and wording.
"""
