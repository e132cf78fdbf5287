//! What signed-in pages share: the facility in the path as the user may see it; which
//! prefectures a member of staff may look at, the one a request
//! asks for, the prefecture and municipality choices of their forms, and reading repeated form
//! fields (checkbox lists come as repeated pairs).

use teikyo_domain::{MunicipalityCode, PrefectureCode};
use teikyo_store::{Facility, FacilityId};

use crate::auth::Principal;
use crate::error::WebError;
use crate::state::AppState;

/// The facility in the path, if the user may see it (one they may not see does not exist for
/// them: 404, not 403).
pub(crate) async fn seen_facility(
    state: &AppState,
    who: &Principal,
    id: &str,
) -> Result<Facility, WebError> {
    let id: i64 = id.parse().map_err(|_| WebError::NotFound)?;
    let f = state
        .store()
        .facilities()
        .get(FacilityId(id))
        .await?
        .ok_or(WebError::NotFound)?;
    if !who.access.sees_facility(&f.scope()) {
        return Err(WebError::NotFound);
    }
    Ok(f)
}

/// The prefectures whose staff pages the user may look at (the operator: all).
pub(crate) fn viewable(who: &Principal) -> Vec<PrefectureCode> {
    who.access
        .staff_prefectures()
        .unwrap_or_else(|| PrefectureCode::all().collect())
}

/// The asked prefecture if it is among `allowed`, else the first of them.
pub(crate) fn chosen(
    allowed: &[PrefectureCode],
    asked: Option<&str>,
) -> Result<PrefectureCode, WebError> {
    if let Some(p) = asked.and_then(|a| PrefectureCode::parse(a).ok()) {
        return if allowed.contains(&p) {
            Ok(p)
        } else {
            Err(WebError::Forbidden)
        };
    }
    allowed.first().copied().ok_or(WebError::Forbidden)
}

/// (code, name, selected) when there is a choice to make.
pub(crate) fn prefecture_choices(
    allowed: &[PrefectureCode],
    current: PrefectureCode,
) -> Vec<(String, &'static str, bool)> {
    if allowed.len() <= 1 {
        return Vec::new();
    }
    allowed
        .iter()
        .map(|p| (p.to_string(), p.name(), *p == current))
        .collect()
}

/// The prefecture's municipalities the user's area covers (designated cities by their wards).
pub(crate) fn municipality_choices(
    who: &Principal,
    prefecture: PrefectureCode,
) -> Vec<(String, String)> {
    let area: Option<Vec<MunicipalityCode>> = who.access.area_in(prefecture);
    teikyo_refdata::municipalities::in_prefecture(prefecture)
        .iter()
        .filter(|m| m.kind != teikyo_refdata::municipalities::MunicipalityKind::DesignatedCity)
        .filter(|m| area.as_ref().is_none_or(|a| a.contains(&m.code)))
        .map(|m| (m.code.to_string(), m.name.to_owned()))
        .collect()
}

/// Every value of a repeated form field.
pub(crate) fn all_of(pairs: &[(String, String)], name: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .collect()
}

/// The first value of a form field ("" when absent).
pub(crate) fn one_of(pairs: &[(String, String)], name: &str) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}
