"""tap-hr-roster: the HR or IdP roster (who left and when) from a CSV file, as a Singer tap.

Only the HR system or the IdP knows who left the company; the evidence models match its
leavers against the Segment and Fivetran accounts (evidence.leaver_access).
"""
