"""Chart patterns live at the last bar: flags, pennants, head and shoulders, double tops and triangles.

``detect_patterns(bars)`` looks at the last 300 bars in log prices, so that a pattern reads the same at
any price scale:

1. Swing points: a zig-zag of the highs and lows at five reversal thresholds, 2 to 10 times the typical
   one-bar move (``swings``). The last swing is the running extreme, as on a live chart.
2. Matchers score each pattern's geometric template on the swings that end in the last ``LIVE_BARS``
   bars (``reversals``: double tops, head and shoulders; ``triangles``; ``consolidations``: flags and
   pennants; the last two with trend lines fitted through their touches). Each is written for one side
   and run on the mirrored swings for the other (double bottoms, inverse head and shoulders, bear flags,
   descending triangles).
   A match's geometric fit is the product of terms between 0 and 1, each a ramp between the limits of one
   rule of the template (tops alike, lines converging, a steep pole, legs that stand out of the noise...).
   Its confidence is learned (``scoring``): boosted decision trees per matcher, fitted on labelled
   synthetic series (``training``), read the fit and the raw measurements behind it; the readings of
   one triangle window (ascending, descending, symmetrical) compete in one softmax.
3. A match whose swings mostly belong to a larger match that fits nearly as well is part of that one
   and is dropped; of the rest, the best match of each kind is reported.

Findings at or above ``CONFIDENCE_THRESHOLD`` are the ones whose accuracy is measured (see
``markets.analysis.synthetic`` and ``bench/patterns.py``). Breakout levels are the neckline or the
pattern's line at the last bar; targets are the measured move (pole, head to neckline, top to valley,
triangle base) taken in log price, i.e. as a percentage, so that they never go below zero. A
symmetrical triangle has no direction of its own; its breakout and target are given on the side the
price entered it from.
"""

from markets.analysis.patterns.detector import CONFIDENCE_THRESHOLD, LIVE_BARS, detect_patterns
from markets.analysis.patterns.pattern import PATTERN_KINDS, Pattern

__all__ = ["CONFIDENCE_THRESHOLD", "LIVE_BARS", "PATTERN_KINDS", "Pattern", "detect_patterns"]
