"""The platform's own database (synthetic here): what Health-Thing holds."""
