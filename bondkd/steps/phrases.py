"""The cue phrases, English and Chinese: regex fragments per cue class, compiled by
`bondkd.steps.lexicon` (which says how, and why each must run in linear time).

Extending the lexicon means adding a phrase to a list here, nothing else. English
fragments end at a word boundary once compiled ("wait" never matches "awaited");
Chinese has no word boundaries, so ambiguous single characters carry explicit
exclusions (故 but not 故事, 若 but not 若干).
"""

from __future__ import annotations

ZH_NUM = "一二三四五六七八九十百千两"

# -- cue phrases at the opening of a step -----------------------------------------------

_WAIT = r"wait(?!\s+(?:times?|lists?)\b)"  # not the noun ("Wait time: 7 minutes")

# What "plug in" / "substitute" takes when the work goes forward: the values, not a result.
_FORWARD = (
    r"(?! (?:in )?(?:all )?(?:the |these |those )?(?:known |given |computed )?(?:values?|numbers"
    r"|rates|fractions|data|quantities|expressions?)(?![\w'’]))"
)

REFLECTION_EN = [
    _WAIT,
    r"h+m{2,}|hm",
    r"hold on|hang on|oops|whoops",
    r"(?:oh|ah),? (?:i see|now i see)|i see (?:the|my|what)",  # "Oh, I see: 14 m is the diameter"
    r"on (?:second thought|reflection|closer inspection)",
    r"actually\s*,",
    r"let(?:'s|’s| me| us)(?: also| quickly| now| just| first| again| carefully)?"
    r" (?:double[- ]?check|re-?check|check|verify|confirm|make sure|reconsider|re-?examine"
    r"|re-?evaluate|re-?visit|re-?compute|re-?calculate|re-?do|re-?read|go back|look (?:back|again)"
    r"|sanity[- ]check|see if|test (?:this|it|that))",
    r"(?:i|we) (?:should|need to|must|can|will|'ll|’ll)(?: also| now| quickly| first)?"
    r" (?:double[- ]?check|re-?check|check|verify|confirm|make sure|reconsider)",
    r"(?:double[- ]?|re-?|cross[- ]?|sanity[- ]?)?check(?:ing|s)?",
    r"(?:a )?(?:rough|quick|ballpark) estimate",  # "Rough estimate: … is a bit over 20"
    # "Quick check of the perimeter: …", "One last check:", "A final sanity check"
    r"(?:a |one )?(?:(?:quick|final|last|brief|simple|rough|second|further|extra|more|reverse"
    r"|inverse|backward)[ \t]){1,2}"
    r"(?:sanity[- ])?(?:check|substitution|verification)",
    r"verif(?:y|ying|ication|ied)",
    r"confirm(?:ing|ation)?",
    r"as a (?:quick |final |sanity |further |rough |simple |second )?check",
    r"to (?:double[- ]?check|verify|confirm|make sure|be sure)",
    r"to check(?=[,:]| (?:my|our|this|that|it|the (?:answer|result|solution)))",
    r"re-?(?:compute|computing|calculate|calculating|evaluate|evaluating|examine|examining"
    r"|read|reading|visit|visiting|run|running|do|doing|derive|deriving|count|counting|trace"
    r"|tracing)",
    r"(?:that|this|it)(?:'s|’s| is| was) (?:not right|wrong|incorrect|not correct|a mistake"
    r"|an error|off)",
    r"(?:is|does) (?:that|this|it) (?:right|correct|make sense|plausible|reasonable|realistic)",
    r"(?:i|we) made (?:a |an )?(?:mistake|error)",
    r"(?:my )?mistake|correction|correcting|to correct",
    # Putting a result back checks it; putting the values in ("Plugging in the known
    # rates", "substitute these fractions back into the expression") works forward.
    r"(?:plug(?:ging|ged)?|substitut(?:e|ing)|put(?:ting)?)"
    + _FORWARD
    + r"\b[^.\n]{0,40}?\bback\b",
    r"(?:plug(?:ging|ged)?|substitut(?:e|ing))(?: (?:it|this|these|them|that))? in" + _FORWARD,
    r"let(?:'s|’s| me| us) (?:plug|substitute|put)\b[^.\n]{0,40}?\b(?:back|into the original)\b",
    r"go(?:ing)? (?:back )?over|looking back|going back|look(?:ing)? again",
    r"review(?:ing)?|revisit(?:ing)?",
    r"both (?:methods|approaches|ways|answers|results|calculations|computations|routes)",
    # Verdicts on what came before: a step that only judges an earlier claim checks it.
    r"(?:yes|correct|right|exactly|indeed|good|perfect|not sure|same|(?:the )?same (?:result|answer))"
    r"(?=[ \t]?[,.!;:—]|[ \t]*$)",
    r"(?:that|this|it|which)(?: also| still)?(?: (?:seems|looks|sounds|is|was)|['’]s)"
    r"(?: also| still)?"
    r"(?: about| roughly| approximately)? (?:right|correct|good|fine|logical|reasonable"
    r"|consistent|plausible|off|wrong|odd"
    r"|strange|weird|suspicious|different|conflicting|contradictory)",
    r"(?:that|this|it) (?:makes sense|works|checks out|matches|agrees|can['’]?t be right"
    r"|cannot be right|doesn['’]t (?:make sense|(?:seem|sound|look) right|add up|match))",
    # Doubts about what was just done: "But I'm not entirely sure about that."
    r"(?:i['’]m|i am) not (?:entirely |completely |quite |so |too )?sure",
    r"makes sense|i think (?:not|that['’]s (?:right|correct|it))",
    # A recap of one's own work ("1. I started by expanding …", "Then, I multiplied by 4").
    r"(?:then,? )?i (?:started|used|related|substituted|multiplied|converted|computed|expanded"
    r"|applied|simplified|recognized|expressed|factored)",
]
REFLECTION_ZH = [
    r"等等|等一下|等一等|且慢|嗯|咦|哎呀|哎哟|诶|[哦噢](?=[，,])",  # 哦，: a second look
    r"让我们?(?:再|来|先|重新)?(?:仔细)?(?:检查|验证|核对|核实|确认|回顾|想想|看看|算一下|算一遍)",
    r"(?:仔细)?(?:检查|验证|验算|核对|核实|确认|检验|复核|复查|回顾)",
    r"回头|回过头|不对|错了|有误|算错|搞错|弄错",
    r"重新(?:计算|核对|检查|算|验证|考虑|审视)|再次?(?:确认|检查|验证|核对|算一遍)",
    # 代入 alone opens a forward substitution ("代入 x = ρcosθ，得到"); a check says so
    r"实际上|事实上|代入(?:检验|验证|验算|原)|代回|两种(?:方法|算法|解法|思路|数法|做法|想法)",
    # A question put to oneself: "有没有比 17 更小的？", "会不会是先减 20 元再打折？"
    r"(?:有没有|会不会|是不是)[^。！？\n]{0,30}?[？?]",
    r"(?:这|这个|此)?(?:是)?(?:对的|正确的|没错|正确|合理)(?=[，,。！!]|$)",
    # A plausibility check ("直觉上……应该比原价低"), a reply to the question a check put
    # ("是的，300 千米是货车出发时的距离").
    r"直觉上|是的(?=[，,])",
]

# "Let me try to figure this out", "let me try that", "let me try converting it": the work
# at hand, not a branch.
_NOT_THE_WORK = (
    r"(?! (?:to|that|this|it|converting|computing|calculating|writing|listing|visuali[sz]ing)"
    r"(?![\w'’]))"
)
EXPLORATION_EN = [
    r"alternatively|alternative(?:ly)?:?",
    r"another (?:approach|way|method|option|idea|possibility|strategy|angle|case)",
    r"a different (?:approach|way|method|strategy|angle)",
    r"or,? (?:maybe|perhaps|alternatively|instead|(?:we|i) (?:could|can|might))",
    r"or,? [a-z]+ (?:could|might) be(?![\w'’])",  # "Or Amy could be 2nd: …"
    r"(?:or |maybe |perhaps )?(?:i|we) (?:could|might)(?: also| instead)?"
    r" (?:try|use|instead|approach|consider|guess|assume)",
    # "Maybe I messed up ..." doubts what was done (a check), it opens no branch.
    r"(?:maybe|perhaps|possibly)(?! (?:i|we) (?:messed|made|miscalculated|was|were|got)\b)",
    r"suppos(?:e|ing)|assum(?:e|ing)",
    r"what (?:if|about)|how about",
    # "Let me consider f(x)" and "let me try to figure this out" set up the work at hand.
    r"let(?:'s|’s| me| us)(?: now| instead| also| first)?"
    r" (?:try|assume|suppose|guess|explore|approach|test (?:the )?case)" + _NOT_THE_WORK,
    r"try(?:ing)?" + _NOT_THE_WORK + "|trial",
    # "Let's try that approach to cross-verify": a method named, not the work at hand
    r"let(?:'s|’s| me| us) try (?:that|this|the other|another) (?:approach|method|way|idea)",
    r"consider(?:ing)? (?:the |a |another )?(?:case|cases|possibility|scenario|option)"
    r"|consider (?:what|whether|if)",
    r"instead|on the other hand",
    r"if (?:instead|we instead|i instead)",
    r"case (?:\d+|[ivx]+|[a-d])\b",
]
EXPLORATION_ZH = [
    r"或者|或是|或许|也许|可能(?!的|性)",  # "可能的原数有……" lists, it opens nothing
    r"假设|假如|假定|设想|倘若|要是|若(?!干)",
    r"换(?:一种|一个|个)(?:思路|方法|角度|算法|办法|做法|方式|想法)",
    r"另(?:外)?一种(?:方法|思路|解法|做法|算法|办法|方式)?|另一个(?:思路|角度|办法)",
    r"不妨|试试|试一下|试着|尝试|(?:另外|此外)?(?:也|还)可以|可以尝试|可以试着|考虑",
    r"情况[一二三四五六七八九十\d]|第[一二三四五六七八九十\d]种情况",
]

CONCLUSION_EN = [
    r"therefore|thus|so|hence|consequently|accordingly",
    r"(?:this|that|which) (?:means|gives|shows|implies|yields)",
    r"as a result|in total|altogether|in all|overall",
    r"in conclusion|to conclude|in summary|to summari[sz]e|summing up",
    r"finally",
    r"the (?:final )?answer is",
    r"it follows",
    r"we (?:get|obtain|conclude|find|have shown)",
]
CONCLUSION_ZH = [
    r"因此|所以|于是|因而|从而|故(?![事障意乡居宫])|最终|综上(?:所述)?|总之",
    r"总共|一共|这样|由此(?:可得|可知|得出)?|可见|那么|即(?!使|便|将|刻)|也就是(?:说)?|结论",
]

SEQUENCE_EN = [
    r"first(?:ly)?|first of all|to (?:begin|start)(?: with)?",
    r"second(?:ly)?|third(?:ly)?",
    r"next|then|now|after that|afterwards|subsequently",
    r"finally|lastly",
    r"step \d+",
    r"start(?:ing)? (?:with|by)|begin(?:ning)? (?:with|by)",
]
SEQUENCE_ZH = [
    r"首先|其次|然后|接着|接下来|随后|之后|最后|再者|下一步|现在|先",
    rf"第[{ZH_NUM}\d]+(?:步|[，,、：:])",
]

PHRASES: dict[str, tuple[list[str], list[str]]] = {
    "reflection": (REFLECTION_EN, REFLECTION_ZH),
    "exploration": (EXPLORATION_EN, EXPLORATION_ZH),
    "conclusion": (CONCLUSION_EN, CONCLUSION_ZH),
    "sequence": (SEQUENCE_EN, SEQUENCE_ZH),
}

# Reflection phrases that count anywhere in a step, not only at its opening: a check
# is often announced mid-sentence ("..., so let me also solve it directly to make sure").
# Looking back at one's own earlier work ("earlier I got 20 bits", "my initial answer",
# 之前算得): a check of that work, not of the claim just made.
LOOKS_BACK_EN = [
    r"(?:earlier|before|previously|initially|originally|at first),? (?:i|we) (?:thought|got"
    r"|said|assumed|found|computed|calculated|had|wrote|considered|treated|converted|used)",
    # "But earlier, by converting to base-10, I found that it's 19 bits."
    r"(?:earlier|previously|initially|originally|at first), [^.,;!?\n]{1,40}, (?:i|we) (?:thought"
    r"|got|found|computed|calculated|had)",
    r"(?:i|we) (?:initially|originally|first|earlier) (?:thought|got|said|assumed|found"
    r"|computed|calculated|had|wrote|considered)",
    r"did (?:i|we) (?:initially|originally|first) (?:think|get|say|assume|find|compute"
    r"|calculate|write)",
    r"(?:my|the|our) (?:earlier|previous|initial|first|original|other) (?:answer|result"
    r"|conclusion|calculation|computation|method|approach|idea|thought|reasoning|count"
    r"|confusion|attempt)",
]
LOOKS_BACK_ZH = [r"(?:之前|前面|刚才|原来|一开始)(?:我们)?(?:算|得|求|写|认为|以为|假设)"]
# A value reached again, after "so", "is" or "=" ("so 24 minutes again", "= 5,040, as before"),
# closing the clause: "subtract 5 again, then" is not one.
# A step that opens on a value and judges it ("2.4 hours fits.", "12 works.", "7/8 it is.").
VALUE_FITS = (
    r"^\W{0,3}\$?\d[\d,./]*(?:\s+[a-z]+){0,2}\s+(?:fits|works|checks out|it is)"
    r"(?=[ \t]*(?:[.!;]|$))"
)
AGAIN = r"\s*\$?\d[\d,./]*(?:\s+[a-z]+){0,2}\s+(?:again|as well|as before)(?=[ \t]*(?:[.!;,)]|$))"
REFLECTION_ANYWHERE_EN = [
    r"(?:so|thus),? (?:it(?:['’]s| is)|that(?:['’]s| is)|the answer is) still \$?\d[\d,./]*",
    r"let(?:'s|’s| me| us)(?: also| quickly| now| just| first| again| carefully)?"
    r" (?:double[- ]?check|re-?check|check|verify|confirm|make sure|reconsider|re-?examine)",
    r"(?:i|we) (?:should|need to|must)(?: also| now)? (?:double[- ]?check|re-?check|check|verify)",
    r"to (?:double[- ]?check|verify|confirm|make sure|be sure|be safe)",
    # An error somewhere, not yet found: "There must be a mistake in one of the methods."
    r"must be (?:a |an )?(?:mistake|error)|where (?:is|was) (?:the|my) (?:mistake|error)",
    # A result the question cannot have: "That gives s = 35/3, which is not a whole number."
    r"(?:(?:is|['’]s) not|isn['’]t) (?:a whole number|an integer)",
    r"(?<=[,;] )(?:so |and )?yes(?=[,.!])|(?<=[.!] )yes(?=[,.!])",  # "…, so yes, the two changes cancel."
    # a closing verdict: "… = 6 / 1326 = 1/221, the same."
    r"(?<=[,;] )(?:which is |that['’]s |it['’]s )?(?:the same(?: (?:answer|result|value|as before))?"
    r"|same as before)(?=\W{0,3}$)",
    r"let(?:'s|’s| me| us) re-?(?:add|compute|calculate|count|multiply|divide|do|work)(?![\w'’])",
    r"(?:also|again|still) (?:correct|right|true)(?=[ \t]*[.!;]|$)",  # "…= 360°, also correct."
    # "2 of 6, which is also 1/3." (not "which is also 5 more than Tom")
    r"(?:holds|works|fits|checks out) (?:too|as well)",  # "so the first condition holds too"
    r"(?:which|that|this|it)(?:['’]s| is) also \$?\d+(?:[.,/]\d+)?"
    r"(?!\d|[.,/]\d| (?:more|less|fewer|times|greater|smaller|higher|lower|larger)(?![\w'’]))",
    # verdicts: "So the list of 6 is complete.", "…, as it should be for parallel.", "and the
    # answer stays 2."
    r"(?:is|was|are|were) complete(?=[ \t]*[.!;]|$)|as (?:it|they|this|that) should be"
    r"|(?:answer|result) (?:stays|remains|still stands)",
    r"(?:over|under|double[- ])count(?:ing|ed)|miss(?:ed|ing) something",
    # a doubt about what was just found: "That's not even an integer, so something is off."
    r"something(?:['’]s| is| must be) (?:off|wrong|not right|amiss)",
    # "so 91 m² is too big.", "that seems way too small"
    r"(?:is|seems|looks|are|was) (?:far |way |much )?too (?:big|small|large|high|low|much|little|many"
    r"|few)(?=[ \t]*(?:[.!;,)]|$))",
    r"(?:seems|looks|sounds|is) (?:plausible|reasonable|sensible|about right)(?=[ \t]*(?:[.!;,)]|$))"
    r"|(?<=, )right(?=\?)",  # "…, right?": a question put to one's own step
    r"as (?:a (?:quick |final |sanity |rough |simple |second |further )?|one more |another )check"
    r"|sanity[- ]check"
    r"|double[- ]?check(?:ing|ed)?",
    r"(?:that|this)(?:'s|’s| is| was) (?:wrong|not right|incorrect|a mistake)",
    # a result the question cannot have: "But 24 − 48 is negative, which is impossible."
    r"(?:which|that|this|it)(?:['’]s| is) (?:impossible|absurd)|can(?:not|['’]t) be negative",
    # the slip a check was looking for: "Found it: 150 / 100 is 1.5 h, I wrote 1.2."
    r"^\W{0,3}(?:found it|there it is)(?=\W)",
    r"made (?:a |an )?(?:mistake|error)|miscalculat\w*|messed up",
    r"(?:is|are|was) (?:indeed |also )?correct|checks out|in the right (?:range|ballpark)"
    r"|(?:this|that|which|it) (?:confirms|verifies)|(?:there )?(?:is|are|was|were) indeed"
    r"|(?:is|are|was|(?:it|that|this|which)['’]s) (?:indeed |also |about |roughly )?"
    r"(?:right|correct|consistent)"
    r"(?=[ \t]*(?:[.!;,)]|$))"  # "so 5 is right.", "so it's about right."
    r"|(?<=[.!;] )(?:(?:also|still) )?(?:correct|right|yes|exactly|good|fine|consistent|matches"
    r"|checks out|agrees)(?=[.!])",
    # ↑ a verdict sentence of its own: "2 × 0.9 = 1.8. Correct.", "9 − 15 + 6 = 0. Also good."
    r"same as (?:before|above|earlier|the first|(?:the|our|my) (?:formula|earlier|previous"
    r"|other|original|direct|first) ?(?:method|approach|result|answer|count|one|gave)?)",
    r"(?:which|that|this|it) agrees with (?:the|our|my|what|both)",
    r"(?:(?:which|that|this|it) (?:matches|agrees|checks out)(?: too| as well)?|(?:is|are|looks|seems) consistent"
    r"|they (?:all )?(?:match|agree))"
    r"(?=[ \t]*(?:[.!;,)]|$))",  # a verdict closing a clause ("..., which matches.")
    r"(?:give|gives|gave|got|get|yield|yields) (?:the same|different) (?:answers?|results?"
    r"|values?|counts?|totals?|numbers?)|(?:answers|results|ways|methods|approaches|counts"
    r"|values) (?:agree|match|differ|disagree|confirm)|both (?:give|gave|yield|agree|match)",
    r"(?:which|that|this|it) (?:is )?consistent with|(?:matches|agrees) with"
    r"|(?<=, )(?:matching|agreeing with)|(?:works|checks) out(?=[ \t]*(?:[.!;]|$))"
    r"|(?:(?<=, )(?:so|and) |(?<=[.!] ))(?:it|that|this|everything) works(?=[ \t]*(?:[.!;]|$))"
    r"|(?:method|approach|reasoning|logic|formula) (?:is|was|seems) (?:sound|valid|correct|right)"
    r"|[a-z] ?= ?-?\d[\d,./]*(?: [a-z]+){0,2} (?:works|fits|checks out)(?=[ \t]*(?:[.!;,]|$))"
    r"|(?<!cannot )(?<!not )(?<!n't )(?<!n’t )(?:both|all|each) (?:equations |conditions |of them )?"
    r"(?:hold|work|check out|are satisfied)"
    r"(?=[ \t]*(?:[.!;,]|$))"
    r"|(?:matches|matching|agrees with|consistent with) (?:the |our )?(?:[a-z]+ )?"
    r"(?:first|earlier|previous|above|original|given|stated|factoring|factorization|formula"
    r"|counting|count|listing|enumeration|substitution|expansion|estimate|direct)",
    # A result set beside another ("The formula agrees with listing the values").
    r"(?:formula|result|answer|method|approach|count|value|total|sum|calculation|estimate)s?"
    r" (?:agrees?|match(?:es)?) with",
    # The same value reached again ("so 24 minutes again", "1 − 1/4 = 3/4, the same as
    # counting"); closing the clause, so "subtract 5 again, then" is not one.
    rf"(?:so|gives?|got|get|is){AGAIN}",
    r"same as (?:by )?[a-z]+ing(?=[ \t]*(?:[.!;,)]|$))|again (?:gives|yields|comes to|equals)",
    # (not what the problem says: "after the gift they have the same number, so …")
    r"(?<!have )(?<!has )(?<!had )(?<!have the )(?<!has the )(?<!had the )(?:the )?same (?:answer|result|value|total|count|number|probability)"
    r"(?=[ \t]*(?:[.!;,)]|$))",
    # after a clause, up to two blanks on (each alternative starts at a letter or "=":
    # lexicon.REFLECTION_ANYWHERE_RE skips every other position at once)
    rf"(?:^|(?<=^\s)|(?<=[,;.!?])|(?<=[,;.!?]\s)|(?<=[,;.!?]\s\s))(?:but |so |and )?{_WAIT}",
    *LOOKS_BACK_EN,
    r"when (?:i|we) (?:treated|converted|computed|calculated|did|used|considered|counted)",
    r"(?:why|where) (?:the|this|is the) (?:discrepancy|difference|contradiction|conflict)",
    r"(?:this|that|it) (?:contradicts|conflicts with|disagrees with)|the confusion (?:is|was|arises)"
    r"|(?:that|this|it|which) (?:all |also )?makes sense(?=[ \t]*(?:[.!;,)]|$)| (?:for|here|given|since|because"
    r"|as)\b)",
    r"(?:that|this|which)(?:['’]s| is) a contradiction",  # a case closing one is a deduction
    r"as (?:expected|predicted|estimated|(?:the|my|our) [^.,;!?\n]{1,25}?(?:suggested|predicted))",
    # Redoing one's own work ("Let me convert it step by step again").
    r"let(?:'s|’s| me| us) (?:do|convert|compute|calculate|count|add|work|go through|list|write out"
    r"|enumerate|trace|run|step through|walk through|go over)\b"
    r"[^.!?\n]{0,30}?\b(?:again|once more|one more time)\b",
]
REFLECTION_ANYWHERE_ZH = [
    r"让我们?(?:再|来|先)?(?:检查|验证|核对|核实|确认|回顾)|回头(?:看|检查|核对)",
    r"不是(?:正)?整数",  # "9.6 天不是整数"
    r"(?:检查|验证|核对|核实|确认)一下|验算|代入检验|检验一下|代入(?:到)?原(?:方程|式|等式|题)",
    r"(?:检查|验证|检验|核对)[:：]",  # "列举验证：12、13、21 …"
    # "我们需要检查页码271是否真的…" checks; "我们需要检查 f''(x) 的符号" plans the work
    r"为了(?:验证|检验|核对|确认)|(?:验证|确认|检查|核对)(?:一下)?[^，。！？；\n]{0,12}?是否"
    r"|估算一下|估计一下",
    r"再次?(?:检查|验证|核对|确认)|重新(?:计算|核对|检查|验算|算)",
    r"(?:再|重新)[^，。！？；\n]{0,15}?(?:算一遍|算一次|检查一遍)",
    r"算错|搞错|弄错|出错|错了|不对(?=[，,。！!；;])",
    # "与前面算的一致", "和第一种方法的结果相同"; not "和前面某个颜色相同" (a colour)
    r"[与和跟同](?:(?:上面|前面|之前|上述|前述|原来|第一种)(?:[^。！？；\n]{0,8}?(?:结果|答案|方法|算法"
    r"|算的|得的|求的|数值))?|[^，。！？；\n]{0,8}?(?:结果|答案))"
    r"(?:相同|一致|相符|吻合)",
    r"(?<=[，,])没错(?=[，,])|前后一致|两边相等|等式成立|结果(?:是)?(?:正确|可靠|无误)|(?:结果|结论|答案)(?:完全|也)?(?:一致|相同|一样)|代回|(?<=[，,。])(?:也对|对|没错|对的|是的|一致|相同|吻合|也?一样)(?=[。！!]|$)"
    # "120 + 60 = 180 吨，总数对。", "120 ÷ 60 = 2，倍数也对。"
    r"|(?<=[，,])(?:总数|倍数|结果|答案|总和|总价|总量|数量|人数|个数|单位)也?都?(?:对|没错|正确)(?=[，,。！!]|$)"
    # "……偶数有 2 个，也是 1/3。": a value reached again
    r"|(?<=[，,])(?:也|同样|还|仍然|依然)(?:是|为|等于|得)[ \t]?\d[\d.,/%]*[^，。！？；\n]{0,3}(?=[。！!]|$)"
    r"|说明[^，。！？；\n]{0,12}?(?:是对的|正确|没错|无误)",
    r"两种(?:方法|算法|解法|思路|数法|做法|想法)[^。！？；\n]{0,12}?(?:一致|相同|吻合|都是|都得)",
    # "…= 7.2 天，和前面一样。" closes on the earlier result; "和前面一样，设……" goes on alike
    r"[与和跟](?:上面|前面|之前|前述|原来)(?:的结果|算的|得的|求的)?一样(?=[。！!]|$)",
    r"(?:好像|似乎|看起来)(?:不太?对|有问题|太[^，。！？；\n]{1,4}?[？?])",  # "这个结果好像太轻了？"
    # A verdict closing a sentence: "所以 1/2 是对的。" ("都是正确的" asks that they be)
    r"(?:是|就是)(?:对的|合理的)(?=[。！!]|$)|(?<!都)是正确的(?=[。！!]|$)",
    *LOOKS_BACK_ZH,
    # A doubt that an error was made somewhere is a check ("我们在某个地方犯了错误"), not
    # a correction (says_wrong turns it down: no place named).
    r"犯了?(?:一个|什么)?(?:错误|失误)",
    r"矛盾|这是不可能的|这不可能|重新(?:审视|考虑|评估)|回到(?:原始|原来|最初|前面)",
    r"都不(?:可能|能)成立",
    r"条件都(?:满足|成立|符合)(?!的)",  # "两个条件都满足，所以甲是 42"  # "但是这两个方程都不可能成立": a verdict on the equations just found
    r"符合(?:直觉|常识|预期|实际)|合不合理|是否合理|合理吗|(?<=[\d ，,])合理(?=[。！!]|$)"
    r"|(?:看起来|看上去|似乎|也)(?:很|挺|还算|比较)?合理(?=[，,。！!]|$)",
    # "210 + 150 = 360 千米，正好是全程": the sum comes back to a given
    r"(?:正好|恰好|刚好)(?:是|等于|为)(?:全程|总路程|总数|总量|总价|总和|原价|原数)(?=[，,。！!；;]|$)",  # "这也符合直觉", "我想想这个结果合不合理"
    r"(?<=[，,。])(?:这|都|也)?没(?:有)?问题(?=[。！!]|$)",  # "…，22 + 15 + 3 = 40，没问题。"
    r"[数算]一遍",  # a recount: "让我直接列出来数一遍：……"
    r"(?<=[，,])(?:这样|这)?确实(?:是|有|等于)",  # "至少两个正面的有前 4 种，确实是 4 种"
    # "长比宽多 11 − 7 = 4 厘米，也符合。"; the slip a check looked for: "问题出在剩余量：……"
    r"(?<=[，,])(?:也|都|同样)(?:符合|满足|成立)(?=[。！!]|$)|问题出?在(?=[^，。！？；\n]{0,8}?[:：])",
    r"(?<![就也])(?:对不上|不一致|不吻合|不相符)",  # "和 21.2 对不上"
    r"(?:所以|因此|那么)(?:答案|结果)?(?:还是|仍然是|依然是)[ \t]?\d",  # 所以还是 6/36 = 1/6
]
CHECKMARK = r"[✓✔☑]"

# A new method named anywhere in a step (bondkd.steps.lexicon.opens_alternative).
ALTERNATIVE_EN = [
    r"another (?:method|approach|way|strategy|idea|route)|(?:any|some) other (?:way|approach|method)",
    r"(?:a|the) second (?:route|method|approach|way)",  # "there's a second route: …"
    r"a (?:different|simpler|better|new|more direct) (?:method|approach|way|strategy)",
    r"think (?:about it |of it )?(?:differently|in terms of)",
    r"(?:maybe|perhaps) (?:using|by using|i (?:should|could|can) (?:use|convert|try|think))",
    r"let(?:'s|’s| me| us) [^.,;!?\n]{1,30}? instead",  # "let me set it up algebraically instead"
]
ALTERNATIVE_ZH = [
    r"换(?:一种|一个|个)(?:思路|方法|角度|办法|顺序|算法)|另一种(?:方法|思路|解法)|更简单的方法"
]
CHECK_PURPOSE_EN = (
    r"verify|check|make sure|confirm|be sure|be safe|double-check"
    r"|did (?:i|we) (?:miss|forget|skip|overlook|double-count)"  # "Wait, did I miss any?"
)
CHECK_PURPOSE_ZH = r"验证|检验|核对|检查|验算|[想算验数]一遍"
# A check carried out by another method, named without an alternative's word: "let me
# double-check with the average speed", "solve it directly to make sure", "用组合数验证",
# "也可以直接算：…，两种方法结果一致". Substituting back is no second method.
SECOND_METHOD_EN = [
    r"(?:double-|re-?|sanity-)?(?:check|verify|confirm)(?:ing)?(?: (?:this|that|it"
    r"|the (?:[a-z]+ )?[a-z]+))?"
    r" (?:with|by|using|via) (?!(?:the |our |my )?(?:question|problem|original|given|clue"
    r"|condition|plugging|substitut|putting|expanding|multiplying|these|those"
    r"|(?:a |an )?(?:smaller|simpler|small"
    r"|simple|specific|concrete)))",
    r"(?:solve|compute|calculate|count|do|work) (?:it |this |that )?(?:out )?(?:directly"
    r"|differently|the other way)|counting (?:it )?(?:differently|directly)",
    r"(?:by|using|with|matches) (?:the |a )?(?:formula|closed[- ]form|rule|identity|combinations"
    r"|permutations|complement)(?![\w'’])",
    r"(?:could|can) also (?:do|compute|calculate|solve|count|get|find|work out) (?:it|this|that|the"
    r" \w+)(?: all)? (?:in one (?:go|step)|directly)",
    r"(?:check|verify|confirm|do it|compute it) in (?:one|a single) (?:step|go)",
]
SECOND_METHOD_ZH = [
    # "用 100 元验证一下" puts in a number: the same method, no second one
    r"用(?![ \t]?\d|具体的?数)[^，。,.；\n]{1,12}?(?:验证|验算|核对|算一遍|想一遍)|再用[^，。,.；\n]{1,12}?法",
    r"换(?:成|用)[^，。,.；\n]{1,10}?再?(?:算一遍|算一次|验证|验算|核对)",  # 换成分米再算一遍
    r"(?:也|还)可以(?:直接|这样|换个方法|先|一步)?(?:算|求|数|用|想)",  # 也可以一步算
    r"直接(?:列出来|列举|一一列出|算|计算)",  # "让我直接列出来数一遍：……确实是 9 个"
    r"按[^，。,.；\n]{1,10}?(?:算一遍|再算|来算|验证|核对)",  # "再按顺序算一遍：……，结果一致"
    r"用(?:排列数|组合数|方程|[^，。,.；\n]{1,6}?(?:法|定理|公式))",  # 用排列数 A(4,3) = 24，一样
]
# The verdict of a second method set beside the first: "Same answer.", 两种方法结果一致.
AGREES = (
    r"(?<![\w'’])(?:same|agrees?|agreeing|match(?:es|ing)?|consistent)(?![\w'’])"
    r"|(?<=\d )(?:as well|again)(?![\w'’])|一致|一样|相同|吻合|(?:也|同样)是[ \t]?\d"
)
