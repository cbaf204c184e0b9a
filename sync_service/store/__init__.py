"""The PC CADDIE data the sync service owns: models, schema migrations, the change journal."""
