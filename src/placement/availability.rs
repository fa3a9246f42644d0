//! A clan's availability (DESIGN.md §5, §10.1): what the bot writes to the Clans tab's
//! `open_spots`, `reserved` and `reserved_by` cells. Pure: the staff-owned `spots`, the
//! names of the active holds and the pending placements in, the cells out.

/// The bot-written availability of one clan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Availability {
    pub open_spots: u32,
    pub reserved: u32,
    /// `"R -> name1, name2"`, or `""` when nothing is held.
    pub reserved_by: String,
}

/// `reserved` = the active holds; `open_spots` = max(`spots` − reserved − pending, 0).
pub(crate) fn compute(spots: u32, holders: &[String], pending: u32) -> Availability {
    let reserved = holders.len() as u32;
    Availability {
        open_spots: spots.saturating_sub(reserved).saturating_sub(pending),
        reserved,
        reserved_by: if holders.is_empty() {
            String::new()
        } else {
            format!("{reserved} -> {}", holders.join(", "))
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_seats_never_go_below_zero_and_names_follow_the_count() {
        let none = compute(3, &[], 0);
        assert_eq!(
            none,
            Availability {
                open_spots: 3,
                reserved: 0,
                reserved_by: String::new()
            }
        );
        let two = compute(3, &["Rue".into(), "Max".into()], 0);
        assert_eq!(two.open_spots, 1);
        assert_eq!(two.reserved_by, "2 -> Rue, Max");
        let over = compute(1, &["Rue".into(), "Max".into()], 1);
        assert_eq!((over.open_spots, over.reserved), (0, 2));
        assert_eq!(compute(4, &[], 3).open_spots, 1, "pending placements count");
    }
}
