"""Flask-Admin views, custom pages and blueprints. Thin: they call the domain functions in models/."""
