"""Browser tests (Playwright driving Debian's chromium); a package so its conftest stays apart."""
