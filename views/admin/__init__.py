"""Flask-Admin views of GridDesk."""
