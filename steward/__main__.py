from steward.cli import main

# Guarded: forecasting's worker processes re-import the main module when they start.
if __name__ == "__main__":
    main()
