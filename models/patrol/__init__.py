"""Patrol rounds (巡查): tables, route recording, operations and the supervisors' queries."""
