"""The planning core: what will be sent, how, and every decision a person took on the way (no Qt).

The GUI and the CLI are two faces over this package; neither re-implements a rule that lives here.

* ``draft``: the upload being prepared (``UploadDraft``, one ``SessionPlan`` per study);
* ``review``: per-scan review decisions (boxes, templates, exclusions, inclusions) by Series UID;
* ``labelling`` and ``rules``: labels, variables and the rules Confirm enforces;
* ``specs``: the one place a plan becomes ``TransferSpec``s, and the Summary's counts;
* ``targets``: the destination catalogue (XNAT server, local folder) for GUI and CLI;
* ``headless``: labels and decisions from command-line options and CSV files;
* ``planfile``: plans saved as JSON and re-run (``xnat-upload upload --plan FILE``);
* ``history``: earlier uploads of the same study, from the receipts;
* ``progress``: what is left to review.
"""
