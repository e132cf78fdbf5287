use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use teikyo_account::registration::Registrations;
use teikyo_domain::forms::Catalogue;
use teikyo_store::Store;

use crate::config::WebConfig;
use crate::middleware::metrics::metrics_handle;

/// What every handler can reach. One `Arc`: every request clones the state (the guard, the
/// handler's extractor), and a clone of the parts themselves cost two percent of a request's
/// time (perf, `/healthz` and `/api/search`).
#[derive(Clone)]
pub struct AppState(Arc<Parts>);

#[derive(Clone)]
struct Parts {
    store: Store,
    metrics: PrometheusHandle,
    config: WebConfig,
    registrations: Option<Registrations>,
    /// The item sets the report pages render and validate (`None`: they could not be loaded;
    /// `teikyo serve` refuses to start then, so only a hand-built state has none).
    forms: Option<Arc<Catalogue>>,
    /// This node's search index and listings (`None`: the public search answers that it is not
    /// available).
    search: Option<Arc<teikyo_search::SearchIndex>>,
}

impl AppState {
    /// Installs the process-wide metrics recorder on first use (see [`metrics_handle`]).
    pub fn new(store: Store, config: WebConfig) -> Self {
        Self(Arc::new(Parts {
            store,
            metrics: metrics_handle(),
            config,
            registrations: None,
            // The built-in item sets unless `with_forms` gives others.
            forms: teikyo_refdata::forms::shared_catalogue().ok(),
            search: None,
        }))
    }

    /// The node's search index (`teikyo serve` opens it in its directory and keeps it current).
    pub fn with_search(mut self, index: Arc<teikyo_search::SearchIndex>) -> Self {
        Arc::make_mut(&mut self.0).search = Some(index);
        self
    }

    pub fn search(&self) -> Option<&teikyo_search::SearchIndex> {
        self.0.search.as_deref()
    }

    /// The item sets to use instead of the built-in ones (`forms_dir`).
    pub fn with_forms(mut self, forms: Arc<Catalogue>) -> Self {
        Arc::make_mut(&mut self.0).forms = Some(forms);
        self
    }

    pub(crate) fn forms(&self) -> Option<&Catalogue> {
        self.0.forms.as_deref()
    }

    /// Publishes facilities right away (a 臨時休診 shows within seconds); `None` without item
    /// sets (the queued publication job then does it).
    pub(crate) fn publisher(&self) -> Option<teikyo_search::Publisher> {
        self.0.forms.clone().map(teikyo_search::Publisher::new)
    }

    /// Enables 新規ユーザ登録申請 (it sends mail, so it needs the templates). Without it the
    /// application pages say that applications are not accepted here.
    pub fn with_registrations(mut self, registrations: Registrations) -> Self {
        Arc::make_mut(&mut self.0).registrations = Some(registrations);
        self
    }

    pub fn registrations(&self) -> Option<&Registrations> {
        self.0.registrations.as_ref()
    }

    /// The mail templates, for pages that send mail (address changes, support tools).
    pub(crate) fn mail_templates(
        &self,
    ) -> Result<&std::sync::Arc<teikyo_mail::MailTemplates>, crate::WebError> {
        self.0
            .registrations
            .as_ref()
            .map(|r| r.templates())
            .ok_or_else(|| crate::WebError::Internal("mail templates are not configured".into()))
    }

    pub fn store(&self) -> &Store {
        &self.0.store
    }

    pub fn metrics(&self) -> &PrometheusHandle {
        &self.0.metrics
    }

    pub fn config(&self) -> &WebConfig {
        &self.0.config
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.0.store)
            .field("config", &self.0.config)
            .finish_non_exhaustive()
    }
}
