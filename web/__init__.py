"""HTTP plumbing shared by every route: settings, templates, static files, middleware."""
