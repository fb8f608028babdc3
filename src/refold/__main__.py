from refold.cli.main import entry

entry()
