//! One colour per group, stable across figures and renders.

use plotters::style::RGBColor;
use std::collections::BTreeMap;

/// Tableau 10: distinguishable on screen and in print, and in the usual colour-vision
/// deficiencies for the first few entries.
const TABLEAU10: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Colour of each group: groups sorted by name take the palette in order (cycling after ten).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupPalette {
    colours: BTreeMap<String, RGBColor>,
}

impl GroupPalette {
    /// Assigns colours to the distinct group names given (duplicates and order do not matter).
    pub fn new<'a>(groups: impl IntoIterator<Item = &'a str>) -> Self {
        let mut colours: BTreeMap<String, RGBColor> = groups
            .into_iter()
            .map(|g| (g.to_owned(), TABLEAU10[0]))
            .collect();
        for (i, colour) in colours.values_mut().enumerate() {
            *colour = TABLEAU10[i % TABLEAU10.len()];
        }
        Self { colours }
    }

    /// The colour of `group`; grey for a group the palette was not built with.
    pub fn colour(&self, group: &str) -> RGBColor {
        self.colours
            .get(group)
            .copied()
            .unwrap_or(RGBColor(90, 90, 90))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_follow_sorted_group_names_whatever_the_input_order() {
        let a = GroupPalette::new(["b", "a", "c", "a"]);
        let b = GroupPalette::new(["c", "b", "a"]);
        assert_eq!(a, b);
        assert_eq!(a.colour("a"), TABLEAU10[0]);
        assert_eq!(a.colour("b"), TABLEAU10[1]);
        assert_eq!(a.colour("c"), TABLEAU10[2]);
        assert_eq!(a.colour("zzz"), RGBColor(90, 90, 90));
    }

    #[test]
    fn palette_cycles_after_ten_groups() {
        let names: Vec<String> = (0..12).map(|i| format!("g{i:02}")).collect();
        let p = GroupPalette::new(names.iter().map(String::as_str));
        assert_eq!(p.colour("g10"), TABLEAU10[0]);
        assert_eq!(p.colour("g11"), TABLEAU10[1]);
    }
}
