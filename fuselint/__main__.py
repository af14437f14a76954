from fuselint.cli import entry

entry()
