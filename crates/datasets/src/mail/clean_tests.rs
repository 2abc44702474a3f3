//! Tests of `clean.rs`.
use super::*;

#[test]
fn quotes_and_attributions_go() {
    let body = "On Thu, 22 Aug 2002, Robert Elz\nwrote:\n> quoted text\n>> deeper\n\nMy answer.\n  | kre style quote\nMore of mine.\n";
    assert_eq!(clean_body(body), "My answer.\nMore of mine.");
}

#[test]
fn mailman_and_sourceforge_footers_go() {
    let body = "Real content here.\n\n\n-------------------------------------------------------\nThis sf.net email is sponsored by:ThinkGeek\nWelcome to geek heaven.\nhttp://thinkgeek.com/sf\n_______________________________________________\nRazor-users mailing list\nRazor-users@lists.sourceforge.net\nhttps://lists.sourceforge.net/lists/listinfo/razor-users\n";
    assert_eq!(clean_body(body), "Real content here.");
}

#[test]
fn signature_then_ilug_footer_go() {
    let body = "Use apt-get.\n\nKevin\n-- \nhttp://ie.suberic.net/~kevin\n\n-- \nIrish Linux Users' Group: ilug@linux.ie\nhttp://www.linux.ie/mailman/listinfo/ilug for (un)subscription information.\nList maintainer: listmaster@linux.ie\n";
    assert_eq!(clean_body(body), "Use apt-get.\n\nKevin");
}

#[test]
fn a_mid_message_rule_without_footer_is_kept() {
    let mut body = String::from("Intro.\n----------\n");
    for i in 0..12 {
        body.push_str(&format!("line {i}\n"));
    }
    body.push_str("\nhttp://xent.com/mailman/listinfo/fork\n");
    let cleaned = clean_body(&body);
    assert!(
        cleaned.starts_with("Intro.\n----------\nline 0"),
        "{cleaned}"
    );
    assert!(cleaned.ends_with("line 11"), "{cleaned}");
}

#[test]
fn outlook_originals_and_header_lines_go() {
    let body =
        "Thanks.\n\n-----Original Message-----\nFrom: Niall\nSubject: [ILUG] OSI\n\nold text\n";
    assert_eq!(clean_body(body), "Thanks.");
    let fwd = "    Date:        Fri, 23 Aug 2002 02:05:19 +0700\n    From:        Robert Elz\n    Message-ID:  <1@x>\n\nWhen I said that.\nList-Id: <x.y>\nX-Mailer: foo\nNote: this line stays\n";
    assert_eq!(clean_body(fwd), "When I said that.\nNote: this line stays");
}

#[test]
fn pgp_armour_goes() {
    let body = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA1\n\nSigned text.\n- -- not a delimiter\n\n-----BEGIN PGP SIGNATURE-----\nVersion: GnuPG\n\niD8DBQE9\n-----END PGP SIGNATURE-----\n";
    assert_eq!(clean_body(body), "Signed text.\n-- not a delimiter");
}

#[test]
fn other_quote_styles_go() {
    let fork = "On Fri, 23 Aug 2002, Robert Harley wrote:\n\n--]Next time I hear a joke\n--]I promise\n\nOh please.\n";
    assert_eq!(clean_body(fork), "Oh please.");
    let supercite =
        "Monday, September 30, 2002, you wrote:\n\nMF> quoted\nE> also quoted\n\nMine.\n";
    assert_eq!(clean_body(supercite), "Mine.");
    let mutt = "cmeclax <cmeclax@gmx.co.uk> [2002-08-02 19:19:55 -0400]:\n> quoted\n\nMine.\n";
    assert_eq!(clean_body(mutt), "Mine.");
    let paren = "On 19/08/02 12:29 -0500, Steve Price wrote:\n) Can anyone help?\n)\nTry razor-admin -create.\n) Later quote\n";
    assert_eq!(clean_body(paren), "Try razor-admin -create.");
    // Without an attribution, `#` lines are code comments and stay.
    let code = "My recipe:\n# Vipul's Razor check\nlog razor-check\n";
    assert_eq!(
        clean_body(code),
        "My recipe:\n# Vipul's Razor check\nlog razor-check"
    );
}

#[test]
fn framed_signatures_and_forward_markers_go() {
    let body = "Is apt-get update enough?\n\n------------------------------------------------------------------------\nBrian F.            Linux Zealot\nICQ  5119262\n------------------------------------------------------------------------\n";
    assert_eq!(clean_body(body), "Is apt-get update enough?");
    let fwd = "--- begin forwarded text\nDate: Mon, 1 Jul\nSubject: news\n\nThe story.\n--- end forwarded text\n";
    assert_eq!(clean_body(fwd), "The story.");
    // A signature above a long sponsor and list footer goes too.
    let body = "Text.\n-- \nJoe\nhttp://joe.example\nPhone 123\n-------------------------------------------------------\nThis sf.net email is sponsored by: OSDN\nline\nline\nline\n_______________________________________________\nSpamassassin-talk mailing list\nSpamassassin-talk@lists.sourceforge.net\nhttps://lists.sourceforge.net/lists/listinfo/spamassassin-talk\n";
    assert_eq!(clean_body(body), "Text.");
}

#[test]
fn all_quote_is_empty() {
    assert_eq!(clean_body("> only\n> quotes\n\n"), "");
}
