"""Technical analysis of a coin's candles: indicators, support and resistance, the summary
(``indicators``, ``levels``, ``summary``, cached per closed bar by ``selectors``) and chart
patterns (``patterns``)."""
