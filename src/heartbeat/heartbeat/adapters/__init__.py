"""Every AWS call of the HTTP face lives here."""
