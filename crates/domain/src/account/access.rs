//! Who may see what (DOMAIN.md §2.5). A user holds memberships; scope checks take the facts of
//! the facility in question, so that they need no database.

use serde::Serialize;

use crate::{MunicipalityCode, PrefectureCode, Program};

/// What a scope check needs to know about a facility.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FacilityScope {
    pub id: i64,
    pub prefecture: PrefectureCode,
    pub municipality: MunicipalityCode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffLevel {
    /// Manages the prefecture's staff and delegates, and everything below.
    Admin,
    /// Approves applications, confirms reports, sends mail.
    Reviewer,
    /// Reads lists and details only.
    ReadOnly,
}

impl StaffLevel {
    pub fn id(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Reviewer => "reviewer",
            Self::ReadOnly => "read_only",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Admin, Self::Reviewer, Self::ReadOnly]
            .into_iter()
            .find(|l| l.id() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Admin => "管理者",
            Self::Reviewer => "担当者",
            Self::ReadOnly => "閲覧のみ",
        }
    }
}

/// The part of a prefecture a staff member covers: all of it, or some municipalities (a 保健所
/// area).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Area {
    Whole,
    Municipalities(Vec<MunicipalityCode>),
}

/// Serialised (tagged by `kind`) for the audit trail's record of what was granted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Membership {
    /// A user of one facility; `admin` may invite and remove the facility's other users.
    /// `programs`: the 制度 the user may report under for it (DOMAIN §3.1: a right granted per
    /// 制度; an account from another survey may have none).
    Facility {
        facility_id: i64,
        admin: bool,
        programs: Vec<Program>,
    },
    /// Prefecture or 保健所 staff.
    Prefecture {
        prefecture: PrefectureCode,
        level: StaffLevel,
        area: Area,
    },
    /// 医師会・薬剤師会・代行業者, acting for the listed facilities of one prefecture.
    Delegate {
        prefecture: PrefectureCode,
        facility_ids: Vec<i64>,
    },
    /// The national operator (運用者): every prefecture.
    Operator,
}

/// Everything one signed-in user may reach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    pub memberships: Vec<Membership>,
}

impl Access {
    pub fn is_operator(&self) -> bool {
        self.memberships.contains(&Membership::Operator)
    }

    /// The 制度 the user may report under for a facility (empty: none, or not the facility's user).
    pub fn programs_for(&self, facility_id: i64) -> Vec<Program> {
        let mut out: Vec<Program> = self
            .memberships
            .iter()
            .filter_map(|m| match m {
                Membership::Facility {
                    facility_id: id,
                    programs,
                    ..
                } if *id == facility_id => Some(programs.iter().copied()),
                _ => None,
            })
            .flatten()
            .collect();
        out.sort_by_key(|p| p.id());
        out.dedup();
        out
    }

    /// May enter and save the facility's reports under `program`: its users holding that 制度,
    /// and its delegates (医師会・代行業者 report for it, under its own 制度). The prefecture's
    /// 代理入力 comes with the reporting workflow.
    pub fn enters_reports(&self, f: &FacilityScope, program: Program) -> bool {
        self.memberships.iter().any(|m| match m {
            Membership::Facility {
                facility_id,
                programs,
                ..
            } => *facility_id == f.id && programs.contains(&program),
            Membership::Delegate {
                prefecture,
                facility_ids,
            } => *prefecture == f.prefecture && facility_ids.contains(&f.id),
            Membership::Operator | Membership::Prefecture { .. } => false,
        })
    }

    /// May see the facility and its reports and mail.
    pub fn sees_facility(&self, f: &FacilityScope) -> bool {
        self.memberships.iter().any(|m| match m {
            Membership::Operator => true,
            Membership::Facility { facility_id, .. } => *facility_id == f.id,
            Membership::Prefecture {
                prefecture, area, ..
            } => *prefecture == f.prefecture && area_covers(area, f.municipality),
            Membership::Delegate {
                prefecture,
                facility_ids,
            } => *prefecture == f.prefecture && facility_ids.contains(&f.id),
        })
    }

    /// May approve applications and confirm reports for the facility (prefecture reviewers and
    /// admins in whose area it lies; the operator).
    pub fn reviews_facility(&self, f: &FacilityScope) -> bool {
        self.memberships.iter().any(|m| match m {
            Membership::Operator => true,
            Membership::Prefecture {
                prefecture,
                level,
                area,
            } => {
                *level != StaffLevel::ReadOnly
                    && *prefecture == f.prefecture
                    && area_covers(area, f.municipality)
            }
            Membership::Facility { .. } | Membership::Delegate { .. } => false,
        })
    }

    /// May manage the facility's users (its own admins; prefecture admins; the operator).
    pub fn manages_facility_users(&self, f: &FacilityScope) -> bool {
        self.memberships.iter().any(|m| match m {
            Membership::Operator => true,
            Membership::Facility {
                facility_id, admin, ..
            } => *admin && *facility_id == f.id,
            Membership::Prefecture {
                prefecture,
                level,
                area,
            } => {
                *level == StaffLevel::Admin
                    && *prefecture == f.prefecture
                    && area_covers(area, f.municipality)
            }
            Membership::Delegate { .. } => false,
        })
    }

    /// How much of `prefecture` the user's staff lists cover: `None` for all of it (the
    /// operator, or a membership over the whole prefecture), else the municipalities of the
    /// user's 保健所 areas there (empty: none).
    pub fn area_in(&self, prefecture: PrefectureCode) -> Option<Vec<MunicipalityCode>> {
        let mut out = Vec::new();
        for m in &self.memberships {
            match m {
                Membership::Operator => return None,
                Membership::Prefecture {
                    prefecture: p,
                    area,
                    ..
                } if *p == prefecture => match area {
                    Area::Whole => return None,
                    Area::Municipalities(list) => out.extend(list.iter().copied()),
                },
                _ => {}
            }
        }
        out.sort_unstable();
        out.dedup();
        Some(out)
    }

    /// May add and remove the prefecture's staff and delegates: the operator, and the
    /// prefecture's admins for the whole prefecture (an admin limited to a 保健所 area manages
    /// that area's facilities' users, not the prefecture's staff).
    pub fn manages_staff_of(&self, prefecture: PrefectureCode) -> bool {
        self.memberships.iter().any(|m| match m {
            Membership::Operator => true,
            Membership::Prefecture {
                prefecture: p,
                level: StaffLevel::Admin,
                area: Area::Whole,
            } => *p == prefecture,
            _ => false,
        })
    }

    /// May open, extend and close the prefecture's 定期報告 periods: the same people who manage
    /// its staff. A period covers the whole prefecture, so an admin of one 保健所 area, like a
    /// reviewer, only looks.
    pub fn manages_periods_of(&self, prefecture: PrefectureCode) -> bool {
        self.manages_staff_of(prefecture)
    }

    /// May compose, send and stop 一括メール配信 in the prefecture: its reviewers and admins
    /// (`StaffLevel::Reviewer` "sends mail"; a 保健所 area limits the recipients, see
    /// `area_in`) and the operator. 閲覧のみ staff look at the sends only.
    pub fn sends_bulk_mail_in(&self, prefecture: PrefectureCode) -> bool {
        self.memberships.iter().any(|m| match m {
            Membership::Operator => true,
            Membership::Prefecture {
                prefecture: p,
                level,
                ..
            } => *p == prefecture && *level != StaffLevel::ReadOnly,
            Membership::Facility { .. } | Membership::Delegate { .. } => false,
        })
    }

    /// May declare and withdraw the facility's own 臨時休診: any of its users (the clerk who
    /// learns the doctor is ill), its delegates, and the staff who review it.
    pub fn declares_closures_for(&self, f: &FacilityScope) -> bool {
        self.reviews_facility(f)
            || self.memberships.iter().any(|m| match m {
                Membership::Facility { facility_id, .. } => *facility_id == f.id,
                Membership::Delegate {
                    prefecture,
                    facility_ids,
                } => *prefecture == f.prefecture && facility_ids.contains(&f.id),
                Membership::Operator | Membership::Prefecture { .. } => false,
            })
    }

    /// May run 臨時休診一括処理 in the prefecture: the same people who send its bulk mail
    /// (reviewers and admins, within their area; the operator).
    pub fn declares_bulk_closures_in(&self, prefecture: PrefectureCode) -> bool {
        self.sends_bulk_mail_in(prefecture)
    }

    /// The prefectures whose staff the user manages, in code order.
    pub fn staff_managed(&self) -> Vec<PrefectureCode> {
        PrefectureCode::all()
            .filter(|p| self.manages_staff_of(*p))
            .collect()
    }

    /// The prefectures where the user may decide and file applications (reviewers and admins;
    /// the operator: all of them), in code order.
    pub fn reviewing_prefectures(&self) -> Vec<PrefectureCode> {
        PrefectureCode::all()
            .filter(|p| {
                self.is_operator()
                    || self.memberships.iter().any(|m| {
                        matches!(m, Membership::Prefecture { prefecture, level, .. }
                            if prefecture == p && *level != StaffLevel::ReadOnly)
                    })
            })
            .collect()
    }

    /// The prefectures whose staff lists (applications, mail log) this user may open; `None`
    /// means all of them (the operator).
    pub fn staff_prefectures(&self) -> Option<Vec<PrefectureCode>> {
        if self.is_operator() {
            return None;
        }
        let mut out: Vec<PrefectureCode> = self
            .memberships
            .iter()
            .filter_map(|m| match m {
                Membership::Prefecture { prefecture, .. } => Some(*prefecture),
                _ => None,
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        Some(out)
    }
}

fn area_covers(area: &Area, municipality: MunicipalityCode) -> bool {
    match area {
        Area::Whole => true,
        Area::Municipalities(list) => list.contains(&municipality),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facility(id: i64, pref: &str, muni: &str) -> FacilityScope {
        FacilityScope {
            id,
            prefecture: PrefectureCode::parse(pref).unwrap(),
            municipality: MunicipalityCode::parse(muni).unwrap(),
        }
    }

    fn access(m: Membership) -> Access {
        Access {
            memberships: vec![m],
        }
    }

    #[test]
    fn each_role_sees_its_scope_only() {
        let kanazawa = facility(1, "17", "172014");
        let nanao = facility(2, "17", "172022");
        let tokyo = facility(3, "13", "131016");
        let ishikawa = PrefectureCode::parse("17").unwrap();

        let own = access(Membership::Facility {
            facility_id: 1,
            admin: false,
            programs: vec![Program::MedicalFunction],
        });
        assert_eq!(own.programs_for(1), vec![Program::MedicalFunction]);
        assert!(own.programs_for(2).is_empty());
        assert!(own.sees_facility(&kanazawa));
        assert!(!own.sees_facility(&nanao));
        assert!(!own.reviews_facility(&kanazawa));
        assert!(!own.manages_facility_users(&kanazawa));

        let reviewer = access(Membership::Prefecture {
            prefecture: ishikawa,
            level: StaffLevel::Reviewer,
            area: Area::Whole,
        });
        assert!(reviewer.sees_facility(&kanazawa) && reviewer.sees_facility(&nanao));
        assert!(!reviewer.sees_facility(&tokyo));
        assert!(reviewer.reviews_facility(&nanao));
        assert!(!reviewer.manages_facility_users(&nanao));
        assert_eq!(reviewer.staff_prefectures(), Some(vec![ishikawa]));

        let hokenjo = access(Membership::Prefecture {
            prefecture: ishikawa,
            level: StaffLevel::ReadOnly,
            area: Area::Municipalities(vec![MunicipalityCode::parse("172022").unwrap()]),
        });
        assert!(hokenjo.sees_facility(&nanao));
        assert!(!hokenjo.sees_facility(&kanazawa));
        assert!(!hokenjo.reviews_facility(&nanao));

        let delegate = access(Membership::Delegate {
            prefecture: ishikawa,
            facility_ids: vec![2, 3],
        });
        assert!(delegate.sees_facility(&nanao));
        assert!(!delegate.sees_facility(&kanazawa));
        assert!(
            !delegate.sees_facility(&tokyo),
            "listed, but another prefecture"
        );
        assert_eq!(delegate.staff_prefectures(), Some(vec![]));

        let operator = access(Membership::Operator);
        assert!(operator.sees_facility(&tokyo) && operator.reviews_facility(&tokyo));
        assert_eq!(operator.staff_prefectures(), None);

        assert!(!Access::default().sees_facility(&kanazawa));
    }

    #[test]
    fn reports_are_entered_by_the_facility_with_the_program_and_its_delegates() {
        let kanazawa = facility(1, "17", "172014");
        let nanao = facility(2, "17", "172022");
        let tokyo = facility(3, "13", "131016");
        let ishikawa = PrefectureCode::parse("17").unwrap();
        let medical = Program::MedicalFunction;
        let own = access(Membership::Facility {
            facility_id: 1,
            admin: false,
            programs: vec![medical],
        });
        assert!(own.enters_reports(&kanazawa, medical));
        assert!(!own.enters_reports(&kanazawa, Program::PharmacyFunction));
        assert!(!own.enters_reports(&nanao, medical));
        let delegate = access(Membership::Delegate {
            prefecture: ishikawa,
            facility_ids: vec![2, 3],
        });
        assert!(delegate.enters_reports(&nanao, medical));
        assert!(
            !delegate.enters_reports(&tokyo, medical),
            "other prefecture"
        );
        for staff in [
            Membership::Operator,
            Membership::Prefecture {
                prefecture: ishikawa,
                level: StaffLevel::Admin,
                area: Area::Whole,
            },
        ] {
            assert!(!access(staff).enters_reports(&kanazawa, medical));
        }
    }

    #[test]
    fn closures_are_declared_by_the_facility_its_delegates_and_its_reviewers() {
        let kanazawa = facility(1, "17", "172014");
        let nanao = facility(2, "17", "172022");
        let ishikawa = PrefectureCode::parse("17").unwrap();
        let clerk = access(Membership::Facility {
            facility_id: 1,
            admin: false,
            programs: vec![],
        });
        assert!(clerk.declares_closures_for(&kanazawa));
        assert!(!clerk.declares_closures_for(&nanao));
        assert!(!clerk.declares_bulk_closures_in(ishikawa));
        let delegate = access(Membership::Delegate {
            prefecture: ishikawa,
            facility_ids: vec![2],
        });
        assert!(delegate.declares_closures_for(&nanao));
        assert!(!delegate.declares_closures_for(&kanazawa));
        let read_only = access(Membership::Prefecture {
            prefecture: ishikawa,
            level: StaffLevel::ReadOnly,
            area: Area::Whole,
        });
        assert!(!read_only.declares_closures_for(&nanao));
        assert!(!read_only.declares_bulk_closures_in(ishikawa));
        let hokenjo = access(Membership::Prefecture {
            prefecture: ishikawa,
            level: StaffLevel::Reviewer,
            area: Area::Municipalities(vec![MunicipalityCode::parse("172022").unwrap()]),
        });
        assert!(hokenjo.declares_closures_for(&nanao));
        assert!(!hokenjo.declares_closures_for(&kanazawa));
        assert!(hokenjo.declares_bulk_closures_in(ishikawa));
        assert!(access(Membership::Operator).declares_bulk_closures_in(ishikawa));
    }

    #[test]
    fn facility_admins_manage_their_own_users() {
        let admin = access(Membership::Facility {
            facility_id: 1,
            admin: true,
            programs: vec![],
        });
        assert!(admin.manages_facility_users(&facility(1, "17", "172014")));
        assert!(!admin.manages_facility_users(&facility(2, "17", "172014")));
    }

    #[test]
    fn only_whole_prefecture_admins_and_the_operator_manage_staff() {
        let ishikawa = PrefectureCode::parse("17").unwrap();
        let nara = PrefectureCode::parse("29").unwrap();
        let admin = access(Membership::Prefecture {
            prefecture: ishikawa,
            level: StaffLevel::Admin,
            area: Area::Whole,
        });
        assert!(admin.manages_staff_of(ishikawa));
        assert!(!admin.manages_staff_of(nara));
        assert_eq!(admin.staff_managed(), vec![ishikawa]);
        let area_admin = access(Membership::Prefecture {
            prefecture: ishikawa,
            level: StaffLevel::Admin,
            area: Area::Municipalities(vec![MunicipalityCode::parse("172014").unwrap()]),
        });
        assert!(!area_admin.manages_staff_of(ishikawa));
        let reviewer = access(Membership::Prefecture {
            prefecture: ishikawa,
            level: StaffLevel::Reviewer,
            area: Area::Whole,
        });
        assert!(!reviewer.manages_staff_of(ishikawa));
        assert_eq!(access(Membership::Operator).staff_managed().len(), 47);
    }

    #[test]
    fn area_limited_staff_see_their_municipalities_only() {
        let ishikawa = PrefectureCode::parse("17").unwrap();
        let kanazawa = MunicipalityCode::parse("172014").unwrap();
        let hokenjo = access(Membership::Prefecture {
            prefecture: ishikawa,
            level: StaffLevel::Reviewer,
            area: Area::Municipalities(vec![kanazawa]),
        });
        assert_eq!(hokenjo.area_in(ishikawa), Some(vec![kanazawa]));
        assert!(hokenjo.sends_bulk_mail_in(ishikawa));
        assert!(!hokenjo.sends_bulk_mail_in(PrefectureCode::parse("29").unwrap()));
        let whole = access(Membership::Prefecture {
            prefecture: ishikawa,
            level: StaffLevel::ReadOnly,
            area: Area::Whole,
        });
        assert_eq!(whole.area_in(ishikawa), None);
        assert!(!whole.sends_bulk_mail_in(ishikawa), "閲覧のみ looks only");
        assert!(access(Membership::Operator).sends_bulk_mail_in(ishikawa));
        assert_eq!(access(Membership::Operator).area_in(ishikawa), None);
    }
}
