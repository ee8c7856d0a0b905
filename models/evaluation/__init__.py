"""Performance evaluation (绩效考核): scoring schemes, monthly scores, rankings, published months."""
