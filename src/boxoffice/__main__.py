from boxoffice.cli import app

app()
