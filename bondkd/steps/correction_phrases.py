"""The phrases of a correction, English and Chinese: a step saying that an earlier claim
was wrong (anywhere in it). Compiled by `bondkd.steps.lexicon` (`CORRECTION_RE`,
`says_wrong`) like the cue phrases of `bondkd.steps.phrases`, and bound by the same rule:
each must run in linear time."""

from __future__ import annotations

# Corrections: a step that says an earlier claim was wrong (anywhere in it). A rejected
# number ("408, not 418", "而不是 418") is read by bondkd.molecule.evidence, which makes the
# step a correction only when that number was stated earlier. Phrases that also open plans
# ("the total should be ...", 应该是) are left out: a false correction would mark a clean
# step superseded.
CORRECTION_EN = [
    # "That's the formula for the side area, not the volume.", "Wait, that's km per
    # minute, not km/h.": the claim just made was something else
    r"(?<=^)(?:(?:wait|hmm|oh),? )?(?:that|this|it)(?:['’]s| is) [^.;!?\n]{1,40}?, not(?= (?!only"
    r"|just|even|necessarily|quite|exactly|yet|bad|sure))",
    # "Wait, that's only the way up.", "Wait, that's only one way": the claim just made
    # left out a part (only after a "wait")
    r"(?<=^)(?:wait|hold on|hang on|hmm)\W{1,3}(?:but |no,? )?(?:that|this)(?:['’]s| is| was) only"
    r"(?= (?:the|one|half|part|for|from|up|down|to)(?![\w'’]))",
    # "Wait, each diagonal is counted twice, once from each end." (only after a "wait")
    r"(?<=^)(?:wait|hold on|hang on)\b[^.!?\n]{0,40}?(?:counted twice|double[- ]counted)",
    r"(?:(?:that|this|it|which)['’]s|is|was|are|were) (?:wrong|incorrect|not (?:right|correct)"
    r"|a mistake|an error|a slip|a typo)(?! as (?:required|needed|stated|given|intended))",
    # "averaging the speeds was the wrong move"
    r"(?:is|was|were) the wrong (?:move|approach|method|formula|idea|step|way|choice|operation"
    r"|equation)(?![\w'’])",
    r"(?:made|make|have made|making) (?:a |an )?(?:mistake|error|slip|typo)",
    r"(?:my|an|the|that|this) (?:mistake|error) (?:was|is|here|earlier|before|above)",
    r"miscalculat(?:ed|ion|ing|e)|mis-?(?:read|copied|counted|computed|added|multiplied)",
    r"(?:i|we) (?:slipped|messed up|mixed (?:it |them |this |that )?up|had (?:it|them|this|that)"
    r" (?:backwards|the wrong way round)|got (?:it|this|that) wrong|(?:added|subtracted|multiplied"
    r"|divided|counted|computed|calculated) (?:it |that |this )?wrong)",
    # A slip owned in words: "I forgot to multiply the −4", "I only multiplied the x by 3",
    # "TH also has a head — I missed it".
    r"(?:i|we) (?:forgot|neglected|left out|missed|overlooked|only (?:multiplied|added|subtracted|divided|counted"
    r"|included|applied))",
    # "I squared the diameter instead of the radius", "we used 12 instead of 10"
    r"(?:i|we) (?:used|took|squared|added|multiplied|divided|subtracted|counted|plugged in|put"
    r"|wrote|read|applied|swapped) [^.;!?\n]{1,40}? instead of",
    # "I multiplied when I should have divided"
    r"(?:i|we) (?:multiplied|added|subtracted|divided) (?:when|where|but) (?:i|we) should have",
    # "I double-counted (6,6)", not "minus the double-counted (6,6)" of inclusion-exclusion
    r"(?:is|was|are|were) (?:over|under|double[- ])counting"
    r"|(?<!the )(?<!a )(?<!an )(?<!are )(?:over|under|double[- ])counted",
    r"correct(?:ed|ing)? (?:it|this|that|the (?:value|total|answer|result|count|number"
    r"|calculation|sum|product))",
    r"correction|oops|whoops|(?:wait|hmm|oh|ah|but|actually)[,.]? (?:actually[,.]? )?no(?=[,.!;:]| ?[—–])"
    r"|no,? wait",
    r"(?:can['’]?t|cannot) (?:just|simply|directly) (?:add|average|subtract|multiply|divide"
    r"|cancel|combine|use)",  # "we can't just average the two speeds"
    r"(?:can['’]?t|cannot|couldn['’]t) be (?:right|correct|true)|(?:that|this) can['’]?t be(?= ?[—–.!;:])",
    # "so I was a dollar off", "the count is off by one"
    r"(?:i|we) (?:was|were)(?: [^\s,.;!?]{1,12}){0,2} off|off by (?:one|a|an|\d)",
    r"should (?:have )?(?:been |be )?[^,.;!?\n]{1,25}?, not",  # "should be subtracted, not added"
    r"^\s{0,3}no[,.] [^.!?\n]{0,60}?, not(?= [a-z])",  # "No, that's minutes, not hours"
    # Opening a step, "Actually," with a new value replaces what came before ("Actually,
    # consecutive even numbers differ by 2"); not a plan or a verdict ("Actually, let me
    # …", "Actually, that's right", "Actually, no further steps are needed").
    r"^\s{0,3}actually\s*,(?! (?:let|i|we|that|this|it|no)(?![\w'’]))(?=[^\n]{0,200}?\d)",
]
CORRECTION_ZH = [
    # "没有算错" (no slip) and "不对称" are no corrections.
    r"(?<!没有)(?<!没)(?<!未)(?<!不)(?<!无)(?:错了|算错|搞错|弄错|写错|看错了|抄错)|不对(?!称|应)|有误",
    r"(?:是|有|出现了?|犯了?(?:一个)?)(?:错误|失误)",
    r"(?<!没有)(?<!没)(?<!不要)(?<!别)(?:忘了|忘记了|漏了|漏掉了|漏看了|看漏了|少算了|多算了)",
    # a slip owned: "我只加了一次" (I only added once), "我写成了 3/5" ("可以看成" reads, no slip)
    r"我们?只(?:[加减乘除数]|算)了|(?<!可以)(?:写成|算成|看成|抄成)了",
    # 应该减去，不是加上; 应该用总路程除以总时间，不能直接平均两个速度
    # "1/12 + 1/18 不能把分子分母分别相加"
    r"更正|改正|纠正|应该[^，,。！？；\n]{1,16}?[，,](?:而)?(?:不是|不能)"
    r"|不能(?:直接|简单地?|把[^，,。！？；\n]{1,10}?(?:分别|直接))(?:相加|相减|相乘|相除|平均|抵消|约分|消去"
    r"|消掉|约掉|用)",
    r"(?<!是)不是[^，,。！？；\n]{1,8}?[，,]应该",  # "2 是加速度不是速度，应该用 s = ½at²"
    r"其实(?:应该)?是(?=[^，。！？；\n]{0,20}?\d)",  # "等等，a[2] 其实是第三个元素 4"
    # "等一下，15 既是 3 的倍数又是 5 的倍数，被算了两次。" (planned, "但这样每次握手被算了两次，
    # 所以 ÷ 2", it is no correction: only after a "wait")
    r"^\W{0,3}(?:等一下|等等|等一等)[^。！？\n]{0,30}?(?:算了两次|数了两次|重复计算|算重了)",
]
