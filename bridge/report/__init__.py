"""`bridge report`: one execution as a self-contained HTML page (`data.py` gathers it from
the record, `page.py` writes it into `page.html`)."""
