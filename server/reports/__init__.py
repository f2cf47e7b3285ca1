"""Family hazard reports (家属举报): the public channel's reports, their triage, sealed contacts and rewards."""
