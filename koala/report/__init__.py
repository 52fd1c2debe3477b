"""Reports: run stage notebooks into reports/, and the index page that links them."""
