//! Fixtures shared by the integration tests: small generated stand-ins for
//! the real assets, a fake asset store, and tiny tokenizers.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use tokenizers::Tokenizer;

/// A NewsArticles-like CSV: quoted multi-line fields, a bbc row, a
/// multi-sentence subtitle, mangled quotes, an empty subtitle, an empty
/// text, a standfirst that copies the lead, a CNN dateline and a repeated
/// article. Rows 1, 5, 8 and 9 survive.
pub const NEWS_CSV: &str = r#"article_id,publish_date,article_source_link,title,subtitle,text
1,2017/2/7,http://www.cnn.com/2017/a,"Title, with a comma",Senators confirmed the education secretary after a tie-breaking vote.,"The Senate voted on DeVos""?highly contentious nomination.
It was split evenly, requiring Pence to break the tie. ""It is hard to imagine a worse choice,""?Sen. Warren said."
2,2017/2/7,http://www.bbc.co.uk/news/b,BBC title,The prime minister met the first minister in Glasgow.,The prime minister met the first minister in Glasgow. They talked for an hour.
3,2017/2/8,http://www.dw.com/c,DW title,Zircon flies fast. It will be tested soon.,Russia is preparing to test a hypersonic missile.
4,2017/2/8,http://tass.com/d,TASS title,,"MOSCOW, February 8. /TASS/. There is no subtitle here."
5,2017/2/9,http://www.aljazeera.com/e,AJ title,Malaysian police say a nerve agent killed Kim Jong-nam.,"Malaysian police say a preliminary report shows

the murder of Kim Jong-nam was carried out with a nerve agent."
6,2017/2/9,http://www.huffingtonpost.com/f,HP title,Stocks rose on Friday.,Stocks rose on Friday. Traders cheered.
7,2017/2/9,http://www.cnn.com/g,CNN title,A story with no text at all.,
8,2017/2/10,http://www.dw.com/h,DW title,"Teachers""?unions oppose the plan, officials said.","Teachers""?unions oppose the plan. They say it ""?""will weaken public schools""?and they don""t like it."
9,2017/2/11,http://www.cnn.com/i,CNN title,Washington (CNN)President Trump signed the order on Friday.,"The order takes effect next week,-officials said."
10,2017/2/11,http://www.cnn.com/j,CNN title,The same article was scraped twice.,"Malaysian police say a preliminary report shows

the murder of Kim Jong-nam was carried out with a nerve agent."
"#;

/// Writes `content` as the only member `member` of a new zip at `path`.
pub fn write_zip(path: &Path, member: &str, content: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    writer.start_file(member, options).unwrap();
    writer.write_all(content).unwrap();
    writer.finish().unwrap();
}

/// Makes `key` look fetched in a store rooted at `root` (as `just assets` would
/// leave it) and returns the package folder.
pub fn fake_package(root: &Path, key: &str) -> PathBuf {
    let asset = loran_assets::find(key).unwrap();
    loran_assets::Store::new(root).mark_complete(asset).unwrap()
}

/// One raw RFC-822 message as the npm package stores it.
pub fn message_json(id: &str, group: &str, text: &str) -> String {
    serde_json::json!({
        "id": id,
        "group": group,
        "checksum": {"type": "MD5", "value": "0"},
        "text": text,
    })
    .to_string()
}

fn headers(list_id: Option<&str>, subject: &str) -> String {
    let mut h = String::from(
        "From fork-admin@xent.com  Thu Aug 22 12:36:23 2002\nReturn-Path: <fork-admin@xent.com>\n\
         Received: from listman.example.org (listman [66.187.233.211]) by\n    dogma.slashnull.org (8.11.6)\n\
         From: Joe Bloggs <joe@example.com>\nTo: someone@example.org\n",
    );
    h.push_str(&format!("Subject: {subject}\n"));
    if let Some(id) = list_id {
        h.push_str(&format!("List-Id: Some list\n    <{id}>\n"));
    }
    h.push_str("Date: Thu, 22 Aug 2002 07:36:16 -0400\n");
    h
}

/// Bodies the fixture messages carry, with the input each must become.
pub const FORK_BODY: &str = "Joe Bloggs wrote:\n> the historical record is overrated\n> really\n\nGlaciers hide old villages; climate swings were larger before.\n\n\nhttp://xent.com/mailman/listinfo/fork\n";
pub const FORK_INPUT: &str = "Glaciers hide old villages; climate swings were larger before.";
pub const ILUG_BODY: &str = "Which irc server is #ilug on?\n\nRegards,\nShane\n\n-----Original Message-----\nFrom: Niall O Broin [mailto:niall@linux.ie]\nSubject: [ILUG] OSI protocol\n\nOld text about posters.\n\n-- \nIrish Linux Users' Group: ilug@linux.ie\nhttp://www.linux.ie/mailman/listinfo/ilug for (un)subscription information.\nList maintainer: listmaster@linux.ie\n";
pub const ILUG_INPUT: &str = "Which irc server is #ilug on?\n\nRegards,\nShane";
pub const RAZOR_BODY: &str = "Razor reports every message as spam since the upgrade.\nAny ideas?\n\n-- \nMike\n\n\n-------------------------------------------------------\nThis sf.net email is sponsored by:ThinkGeek\nWelcome to geek heaven.\nhttp://thinkgeek.com/sf\n_______________________________________________\nRazor-users mailing list\nRazor-users@lists.sourceforge.net\nhttps://lists.sourceforge.net/lists/listinfo/razor-users\n";
pub const RAZOR_INPUT: &str = "Razor reports every message as spam since the upgrade.\nAny ideas?";
pub const EXMH_INPUT: &str = "Yes, I looked at fixing it there.\nThe sequence parser is confused.";

/// A signed multipart exmh-workers post with a kre-style quote.
pub fn exmh_message() -> String {
    let lines = [
        "MIME-Version: 1.0",
        "Content-Type: multipart/signed; boundary=\"==_Exmh_-1317289252P\";",
        "    micalg=pgp-sha1; protocol=\"application/pgp-signature\"",
        "",
        "--==_Exmh_-1317289252P",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        "    Date:        Tue, 27 Aug 2002 18:08:12 -0700",
        "    From:        Brent Welch <welch@panasas.com>",
        "    Message-ID:  <200208280108.VAA30178@blackcomb.panasas.com>",
        "",
        "  | If we are allowed to assume 8.2 or higher",
        "  | we could add a check",
        "",
        "Yes, I looked at fixing it there.",
        "The sequence parser is confused.",
        "",
        "--==_Exmh_-1317289252P",
        "Content-Type: application/pgp-signature",
        "",
        "-----BEGIN PGP SIGNATURE-----",
        "Version: GnuPG v1.0.6",
        "",
        "iD8DBQE9Xup",
        "-----END PGP SIGNATURE-----",
        "",
        "--==_Exmh_-1317289252P--",
        "",
        "",
        "_______________________________________________",
        "Exmh-workers mailing list",
        "Exmh-workers@redhat.com",
        "https://listman.redhat.com/mailman/listinfo/exmh-workers",
        "",
    ];
    format!(
        "{}{}",
        headers(
            Some("exmh-workers.spamassassin.taint.org"),
            "Re: New Sequences Window"
        ),
        lines.join("\n")
    )
}

/// Writes a spam-assassin-like `package/data` tree under `data` and returns
/// the number of JSON files written (ham + spam).
pub fn write_mail_fixture(data: &Path) -> usize {
    let ham1 = data.join("easy-ham-1");
    let ham2 = data.join("easy-ham-2");
    let hard = data.join("hard-ham-1");
    let spam1 = data.join("spam-1");
    let spam2 = data.join("spam-2");
    for d in [&ham1, &ham2, &hard, &spam1, &spam2] {
        std::fs::create_dir_all(d).unwrap();
    }
    let msg = |list: Option<&str>, subject: &str, body: &str| {
        format!("{}\n{body}", headers(list, subject))
    };
    let files: Vec<(&PathBuf, &str, String)> = vec![
        (
            &ham1,
            "00001.aaa",
            msg(
                Some("fork.xent.com"),
                "Re: global warming [FoRK]",
                FORK_BODY,
            ),
        ),
        (
            &ham1,
            "00002.bbb",
            msg(Some("ilug.linux.ie"), "RE: [ILUG] OSI protocol", ILUG_BODY),
        ),
        (&ham1, "00003.ccc", exmh_message()),
        (
            &ham1,
            "00004.ddd",
            msg(
                Some("razor-users.example.sourceforge.net"),
                "[Razor-users] upgrade",
                RAZOR_BODY,
            ),
        ),
        // Not one of the seven lists: dropped.
        (
            &ham1,
            "00005.eee",
            msg(
                Some("social.linux.ie"),
                "[ILUG-Social] pints",
                "Pints on Friday?\n",
            ),
        ),
        // No List-Id at all: dropped.
        (&ham2, "00006.fff", msg(None, "hello", "A private note.\n")),
        // Only a quote and a footer: empty after cleaning, dropped.
        (
            &ham2,
            "00007.ggg",
            msg(
                Some("fork.xent.com"),
                "Re: x",
                "> only quoted\n> text\n\nhttp://xent.com/mailman/listinfo/fork\n",
            ),
        ),
        // The same body as 00001 again: a repeat, dropped.
        (
            &hard,
            "00008.hhh",
            msg(Some("fork.xent.com"), "Re: again", FORK_BODY),
        ),
        // Spam that went through the fork list: only read with include_spam.
        (
            &spam1,
            "00009.iii",
            msg(
                Some("fork.xent.com"),
                "MAKE MONEY FAST",
                "Buy cheap watches now.\n",
            ),
        ),
    ];
    for (dir, stem, text) in &files {
        let group = dir.file_name().unwrap().to_str().unwrap();
        let id = stem.split('.').next().unwrap();
        std::fs::write(
            dir.join(format!("{stem}.json")),
            message_json(id, group, text),
        )
        .unwrap();
        // The package also ships the raw .txt next to each .json; it is not read.
        std::fs::write(dir.join(format!("{stem}.txt")), text).unwrap();
    }
    files.len()
}

/// Splits text like the `Whitespace` pre-tokenizer: runs of word characters
/// and runs of other non-space characters.
pub fn pre_tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut cur_word = false;
    for c in text.chars() {
        if c.is_whitespace() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        let word = c.is_alphanumeric() || c == '_';
        if !cur.is_empty() && word != cur_word {
            out.push(std::mem::take(&mut cur));
        }
        cur_word = word;
        cur.push(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn added_token(id: u32, content: &str) -> serde_json::Value {
    serde_json::json!({
        "id": id, "content": content, "single_word": false, "lstrip": false,
        "rstrip": false, "normalized": false, "special": true
    })
}

/// A word-level tokenizer (one token per `Whitespace` pre-token) whose vocab
/// holds `[UNK]`=0, `<|im_start|>`=1, `<|im_end|>`=2 (when `chatml`), then
/// every pre-token of `texts`.
pub fn word_tokenizer(texts: &[&str], chatml: bool) -> Tokenizer {
    let mut vocab = serde_json::Map::new();
    let mut added = vec![added_token(0, "[UNK]")];
    vocab.insert("[UNK]".into(), 0.into());
    if chatml {
        for (id, t) in [(1, "<|im_start|>"), (2, "<|im_end|>")] {
            vocab.insert(t.into(), id.into());
            added.push(added_token(id, t));
        }
    } else {
        vocab.insert("<pad1>".into(), 1.into());
        vocab.insert("<pad2>".into(), 2.into());
    }
    for text in texts {
        for t in pre_tokens(text) {
            let next = vocab.len() as u64;
            vocab.entry(t).or_insert(next.into());
        }
    }
    let json = serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null,
        "added_tokens": added, "normalizer": null,
        "pre_tokenizer": {"type": "Whitespace"}, "post_processor": null, "decoder": null,
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "[UNK]"}
    });
    json.to_string().parse().unwrap()
}

/// GPT-2's byte-to-character table (byte-level BPE writes bytes as these chars).
fn bytes_to_unicode() -> Vec<char> {
    let mut bs: Vec<u32> = (b'!' as u32..=b'~' as u32)
        .chain(0xA1..=0xAC)
        .chain(0xAE..=0xFF)
        .collect();
    let mut cs = bs.clone();
    let mut n = 0;
    for b in 0..256u32 {
        if !bs.contains(&b) {
            bs.push(b);
            cs.push(256 + n);
            n += 1;
        }
    }
    let mut table = vec![' '; 256];
    for (b, c) in bs.into_iter().zip(cs) {
        table[b as usize] = char::from_u32(c).unwrap();
    }
    table
}

/// A byte-level BPE with no merges: one token per UTF-8 byte (ids 3..=258),
/// plus the ChatML specials `<|im_start|>`=1 and `<|im_end|>`=2.
pub fn byte_tokenizer() -> Tokenizer {
    let mut vocab = serde_json::Map::new();
    vocab.insert("<|endoftext|>".into(), 0.into());
    vocab.insert("<|im_start|>".into(), 1.into());
    vocab.insert("<|im_end|>".into(), 2.into());
    for (b, c) in bytes_to_unicode().into_iter().enumerate() {
        vocab.insert(c.to_string(), (b as u64 + 3).into());
    }
    let json = serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null,
        "added_tokens": [added_token(0, "<|endoftext|>"), added_token(1, "<|im_start|>"), added_token(2, "<|im_end|>")],
        "normalizer": null,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": true},
            {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}
        ]},
        "post_processor": null,
        "decoder": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
        "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
                  "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                  "vocab": vocab, "merges": []}
    });
    json.to_string().parse().unwrap()
}

/// The error is one line and holds every needle.
pub fn assert_one_line(err: &loran_datasets::DatasetError, needles: &[&str]) {
    let msg = err.to_string();
    assert!(!msg.contains('\n'), "multi-line error: {msg}");
    for needle in needles {
        assert!(msg.contains(needle), "{needle:?} not in: {msg}");
    }
}
