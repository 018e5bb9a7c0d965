"""Where a new step begins inside a sentence: markers of a new move ("Wait", "Let me check",
等等, 让我检查一下) that open one even with no sentence punctuation before them
(bondkd.steps.segment cuts there). Linear time, like every regex of bondkd.steps.lexicon.
"""

from __future__ import annotations

import re

from bondkd.steps.lexicon import alternation

# Markers that open a new move even with no sentence punctuation before them
# ("... = 12 Wait, that's wrong", "……所以是12等等，让我检查一下"). English markers need
# a capital initial (the only sign of a new sentence when punctuation is missing), so
# "I'll wait here" never splits; lowercase "but wait" counts right after a comma.
_SPLIT_EN = [
    r"(?:But|And|So|Oh|No)[ ,]+(?:[Ww]ait|[Hh]m+|[Hh]old on|[Aa]ctually)",
    r"Wait(?!\s+(?:times?|lists?)\b)|Hm+|Alternatively|Actually|Hold on|Hang on|On second thought",
    r"Let me (?:double[- ]?check|re-?check|check|verify|reconsider|re-?examine|re-?evaluate"
    r"|make sure)",
    r"Let(?:'s|’s| us) (?:double[- ]?check|re-?check|check|verify|reconsider)",
]
_SPLIT_EN_AFTER_COMMA = r"(?<=[,;] )(?:but|and|so) wait"
# 等等 is also "etc." ("苹果、梨等等"); the segmenter drops those hits (a 、-list before).
_SPLIT_ZH = [
    r"(?:但是|不过|可是|但)?(?:等等|等一下|等一等|且慢)"
    r"(?=[，,、！!：:。\s…]|让|我|这|不|好像|似乎|刚才|前面)",
    r"或者(?=[，,：:]|用|换|也|可以|我们|直接|设|假设|另|试|不妨)",
    r"(?:让我们?|我们|我)?(?:再|来|先|重新)?(?:仔细)?(?:检查|验证|核对|核实|确认)一下",
    r"让我们?(?:再|来|先|重新)?(?:仔细)?(?:检查|验证|核对|核实|确认|想想|看看|算)",
    r"(?:我们|也可以)?(?:用|换)?(?:换一种思路|换个思路|换个角度|换一种方法|另一种方法|另一种思路)",
    r"不对(?=[，,！!。：:])",
]
# Every Chinese marker starts with one of these characters. The leading lookahead lets the
# regex engine skip ahead (6x faster on megabytes); extend it with the list above.
_SPLIT_ZH_FIRST = "但不可等且或让我们再来先重仔检验核确也用换另"
SPLIT_MARKER_RE = re.compile(
    rf"(?<![\w'’])(?:{alternation(_SPLIT_EN)})(?![\w'’])"
    rf"|{_SPLIT_EN_AFTER_COMMA}(?![\w'’])|(?=[{_SPLIT_ZH_FIRST}])(?:{alternation(_SPLIT_ZH)})"
)
