"""Your stack: named, documented vendor profiles for the CRM, the CDP and the sending tool.

A strategist does not think in knobs but in products: "HubSpot with active lists, Segment, Braze".
Each profile here names one product (or one documented mode of it) and the knob values its public
documentation supports, with the claim and the page every value comes from and the date it was
read. Nothing here is invented: the values, claims and URLs are the research catalogue of
``docs/research/vendors.md`` §5 (read 2026-11-29, reliability of each row rated there). Where a
vendor documents a range the profile takes its middle and says so; a value no page gives says
"assumed" in its claim.

How profiles apply (:func:`stack_settings`): one profile per role, applied CRM, then CDP, then
sending tool, so the sending tool's documented sync (e.g. Iterable list syncs every 2–3 h) wins
over the CDP's generic one; explicit ``--set`` values win over every profile. Where an ops level
(``core.advice.ops``) and a profile set the same knob, the profile wins: a team cannot make a
product faster than its vendor documents.

Settings the research found documented but that the simulator does not model are kept with the
profile under ``not_modelled`` with the reason, never applied silently (see :data:`NOT_MODELLED`).

Public API (stable; the Fit advisor builds on it): :data:`ROLES`, :data:`STACKS`,
:func:`stacks_for`, :func:`get_stack`, :func:`parse_stacks`, :func:`stack_settings`,
:data:`STACK_KEYS` / :func:`stack_keys` (how a :class:`core.advice.scenario.Scenario` carries the
names), :func:`engine_knobs`, :func:`validate_catalogue`.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any, Iterable, Mapping

from core.engine.activation import ActivationConfig, canonical_map, parse_map
from core.engine.identity import IdentityConfig
from core.engine.viewsql import CRM_EVENT_TYPES
from core.errors import ConfigError, UserError
from core.measures.campaign import CampaignConfig
from synthetic.config import Behaviour, Knobs, WorldConfig, apply_overrides

ROLES: tuple[str, ...] = ("crm", "cdp", "sending")
ROLE_TITLES: dict[str, str] = {"crm": "CRM", "cdp": "CDP", "sending": "Sending tool"}
#: Scenario settings that carry the chosen profile of each role (not knobs themselves).
STACK_KEYS: dict[str, str] = {role: f"stack_{role}" for role in ROLES}
READ_DATE = "2026-11-29"
#: Knobs of the engine itself (``core.engine.views.EngineConfig``), besides identity resolution.
ENGINE_KNOBS: tuple[str, ...] = ("crm_event_types",)
NO_EVENTS = "none"

# The world's form events: HubSpot's "Form submissions" filter category (and Account Engagement's
# and Dynamics' form activities) covers every form a visitor fills in, which the simulated worlds
# record as form_submit, demo_requested (the demo-request form) and signup (the sign-up form).
_MARKETING_CRM_EVENTS = ["page_view", "form_submit", "demo_requested", "signup", "email_open", "email_click"]


@dataclass(frozen=True)
class Source:
    """One public page and the claim a profile takes from it."""

    url: str
    claim: str

    def to_dict(self) -> dict[str, str]:
        return {"url": self.url, "claim": self.claim}


@dataclass(frozen=True)
class NotModelled:
    """A documented setting the simulator has no knob for, kept with the reason."""

    knob: str
    value: Any
    why: str

    def to_dict(self) -> dict[str, Any]:
        return {"knob": self.knob, "value": self.value, "why": self.why}


@dataclass(frozen=True)
class StackProfile:
    """A named product profile: the knob values it sets and where each comes from."""

    name: str
    role: str
    label: str
    settings: tuple[tuple[str, Any], ...]
    sources: tuple[Source, ...]
    read: str = READ_DATE
    not_modelled: tuple[NotModelled, ...] = ()

    @property
    def settings_dict(self) -> dict[str, Any]:
        return dict(self.settings)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "label": self.label, "settings": self.settings_dict,
                "sources": [s.to_dict() for s in self.sources], "read": self.read,
                "not_modelled": [n.to_dict() for n in self.not_modelled]}


# --------------------------------------------------------------------------- the catalogue
# docs/research/vendors.md §5, as written there, except: crm_event_types spelled in the world's
# event names (see _MARKETING_CRM_EVENTS); settings the simulator does not model move to
# NOT_MODELLED below (they stay visible on the profile). Every {url, claim} pair is kept.
_CATALOGUE: list[dict[str, Any]] = [
    # ---------------------------------------------------------------- CRM role
    {
        "name": "hubspot-active-lists",
        "role": "crm",
        "label": "HubSpot Marketing Hub (active lists)",
        "settings": {
            "crm_list_refresh_minutes": 2,
            "crm_tracking_latency_minutes": 1,
            "crm_form_sync_minutes": 1,
            "crm_event_types": _MARKETING_CRM_EVENTS,
            "crm_merge_on_email": True,
            "crm_identify_on_email_click": True,
            "crm_send_mode": "triggered",
        },
        "sources": [
            {"url": "https://developers.hubspot.com/docs/api-reference/latest/account/settings/tracking-code/identify",
             "claim": "The tracking code's identify call ties the visitor's usertoken to an e-mail address, updating the existing contact; for use when the page knows who the visitor is (e.g. logged in). Identify-on-login is therefore available and its share stays the ops level's crm_identified_share - read 2026-12-03"},
            {"url": "https://knowledge.hubspot.com/lists/lists-faq",
             "claim": "Most contacts are added to an active list immediately when a property is updated (upper bound for complex lists truncated in the copy read); 2 min = 'a couple minutes' per a HubSpot partner (apeakmarketing.com) - read 2026-11-29"},
            {"url": "https://knowledge.hubspot.com/workflows/contact-company-deal-ticket-or-quote-unexpectedly-enrolled-in-workflow",
             "claim": "Analytics and association properties are processed and populated almost instantly; 1 min is assumed for 'almost instantly' - read 2026-11-29"},
            {"url": "https://knowledge.hubspot.com/lists/determine-your-list-criteria",
             "claim": "Lists filter on form submissions, page views and marketing e-mail activity of contacts - read 2026-11-29"},
            {"url": "https://knowledge.hubspot.com/account/how-does-hubspot-track-visitors",
             "claim": "A form fill associates the cookie's previous page views with the contact; two people on one browser become one contact - read 2026-11-29"},
            {"url": "https://knowledge.hubspot.com/lists/lists-faq",
             "claim": "HubSpot de-duplicates contacts on e-mail address - read 2026-11-29"},
            {"url": "https://www.consentstack.io/vendors/hubspot-email",
             "claim": "Third-party: a tracked marketing-e-mail click sets hubspotutk and links the browser to the contact (weak; no HubSpot KB page found) - read 2026-11-29"},
            {"url": "https://knowledge.hubspot.com/workflows/add-re-enrollment-triggers-to-a-workflow",
             "claim": "A workflow can enrol a contact when it joins a list (triggered send) - read 2026-11-29"},
        ],
    },
    {
        "name": "salesforce-account-engagement",
        "role": "crm",
        "label": "Salesforce Sales Cloud + Account Engagement (dynamic lists)",
        "settings": {
            "crm_list_refresh_minutes": 180,
            "crm_form_sync_minutes": 2,
            "crm_event_types": _MARKETING_CRM_EVENTS,
            "crm_identify_on_email_click": True,
            "crm_identified_share": 0.0,
            "crm_send_mode": "triggered",
        },
        "sources": [
            {"url": "https://trailhead.salesforce.com/en/content/learn/modules/pardot-lead-generation/learn-how-pardot-handles-prospects-and-visitors",
             "claim": "A visitor becomes a prospect by giving an e-mail address (forms, form handlers, landing pages) or clicking a tracked e-mail link; no tracking-code call that identifies a logged-in visitor is documented, so crm_identified_share is 0 - read 2026-12-03"},
            {"url": "https://help.salesforce.com/apex/HTViewHelpDoc?id=mktg.pardot_enterprise_dynamic_list.htm",
             "claim": "A changed prospect is added to a dynamic list 'within a few hours'; 180 min is assumed for 'a few' (2-4 h, middle 3 h) - read 2026-11-29"},
            {"url": "https://help.salesforce.com/apex/HTViewHelpDoc?id=mktg.pardot_sf_connector_considerations.htm",
             "claim": "Syncs with Salesforce can occur as often as every 2 minutes - read 2026-11-29"},
            {"url": "https://help.salesforce.com/s/articleView?id=000383604",
             "claim": "Prospect activities include page views, form submissions, e-mail opens and tracked link clicks - read 2026-11-29"},
            {"url": "https://help.salesforce.com/apex/HTViewHelpDoc?id=mktg.pardot_how_does_time_work_in_engagement_studio.htm",
             "claim": "Engagement Studio 'up to a max of' trigger steps move the prospect on as soon as the trigger is met - read 2026-11-29"},
            {"url": "https://greenkeydigital.com/cookie/",
             "claim": "Partner blog: e-mail link clicks and form submissions identify (cookie) the visitor; opted-out visitors keep clicks/forms but lose page views - read 2026-11-29"},
        ],
    },
    {
        "name": "dynamics-365-journeys",
        "role": "crm",
        "label": "Dynamics 365 Customer Insights - Journeys (real-time journeys)",
        "settings": {
            "crm_list_refresh_minutes": 30,
            "crm_list_refresh_by_rule_type": {"field": 30, "behaviour": 60},
            "crm_form_sync_minutes": 3,
            "crm_event_types": _MARKETING_CRM_EVENTS,
            "crm_identified_share": 0.0,
            "crm_send_mode": "triggered",
        },
        "sources": [
            {"url": "https://learn.microsoft.com/en-us/dynamics365/customer-insights/journeys/interaction-journey-decision",
             "claim": "Web tracking applies to known contacts or leads, those who visited through a tracking link in a Customer Insights - Journeys e-mail or submitted its form; no identify-on-login call is documented, so crm_identified_share is 0 - read 2026-12-03"},
            {"url": "https://learn.microsoft.com/en-us/dynamics365/customer-insights/journeys/auto-segment-management",
             "claim": "Segments in active journeys refresh every 30 minutes, or every 60 minutes with at least one interaction filter - read 2026-11-29"},
            {"url": "https://learn.microsoft.com/en-us/dynamics365/customer-insights/journeys/real-time-marketing-redesigned-segment-builder",
             "claim": "Segments filter on interactions: e-mails opened/clicked, marketing forms visited, events, websites - read 2026-11-29"},
            {"url": "https://learn.microsoft.com/en-us/dynamics365/customer-insights/journeys/real-time-marketing-manage-forms",
             "claim": "It can take a few minutes for the records a form targets to update; 3 min is assumed for 'a few' - read 2026-11-29"},
            {"url": "https://learn.microsoft.com/en-us/dynamics365/customer-insights/journeys/real-time-marketing-overview",
             "claim": "Trigger-based journeys react in real time (no latency figure published; none added) - read 2026-11-29"},
        ],
    },
    {
        "name": "sales-crm-nightly-import",
        "role": "crm",
        "label": "Sales-only CRM, nightly imports (Salesforce Sales Cloud, no marketing automation)",
        "settings": {
            "crm_coverage_web": 0.0,
            "crm_identified_share": 0.0,
            "crm_event_types": [],
            "crm_import_days": 1,
            "crm_order_sync_hours": 24,
            "crm_send_mode": "batch",
        },
        "sources": [
            {"url": "https://trailhead.salesforce.com/content/learn/modules/lex_implementation_data_management/lex_implementation_data_import",
             "claim": "Salesforce: use Data Loader when 'You want to schedule regular data loads, such as nightly imports' (read via verbatim copies) - read 2026-11-29"},
            {"url": "https://help.salesforce.com/s/articleView?id=sales.sales_core_import_csv.htm",
             "claim": "Contacts and leads are imported from CSV files, up to 50,000 at a time - read 2026-11-29"},
            {"url": "https://knowledge.performars.com/en/set-your-workflow-enrollment-triggers",
             "claim": "Page views and marketing e-mail activity need a marketing product (HubSpot's wording, verbatim KB copy); a sales CRM without one sees no behaviour - read 2026-11-29"},
        ],
    },
    # ---------------------------------------------------------------- CDP role
    {
        "name": "segment-realtime",
        "role": "cdp",
        "label": "Segment Engage - real-time audiences (funnels/windows/accounts batch every 8 h)",
        "settings": {
            "cdp_mode": "realtime",
            "cdp_compute_minutes": 2.5,
            "audience_cadence_by_rule_type": {"simple_event": "realtime", "sequence": 480,
                                              "time_window": 480, "account": 480},
            "cdp_sync_minutes": 60,
            "hybrid_sync_minutes": 1,
            "crm_to_cdp_sync_minutes": 180,
            "max_anonymous_ids_per_profile": 5,
            "max_emails_per_profile": 5,
            "merge_on_email": True,
        },
        "sources": [
            {"url": "https://www.twilio.com/docs/segment/engage/audiences",
             "claim": "All audiences are real-time by default; funnel audiences can only be computed in batch - read 2026-11-29"},
            {"url": "https://www.twilio.com/docs/segment/engage/product-limits",
             "claim": "Audiences with time windows, funnels, dynamic properties or account-level membership are processed once every eight hours by default - read 2026-11-29"},
            {"url": "https://www.twilio.com/docs/segment/engage/journeys/v2",
             "claim": "Assumed 2.5 min: middle of the only published bound, Event-Triggered Journeys under 5 minutes from event to destination - read 2026-11-29"},
            {"url": "https://www.twilio.com/docs/segment/engage/using-engage-data",
             "claim": "List destinations receive a batch once per hour in most cases; event destinations stream each event - read 2026-11-29"},
            {"url": "https://www.twilio.com/docs/segment/connections/destinations/catalog/hubspot",
             "claim": "Engage sends audience membership to HubSpot as Identify/Track calls (streaming); 1 min assumed - read 2026-11-29"},
            {"url": "https://www.twilio.com/docs/segment/connections/destinations/catalog/actions-segment-profiles/hubspot-source",
             "claim": "HubSpot as a Segment source syncs every three hours by default - read 2026-11-29"},
            {"url": "https://www.twilio.com/docs/segment/unify/identity-resolution/identity-resolution-settings",
             "claim": "Default limits user_id 1, all other identifiers 5; priority user_id 1, email 2 - read 2026-11-29"},
        ],
    },
    {
        "name": "segment-batch",
        "role": "cdp",
        "label": "Segment Engage - batch audiences (every 8 h)",
        "settings": {
            "cdp_mode": "batch",
            "cdp_batch_minutes": 480,
            "audience_cadence_by_rule_type": {"simple_event": 480, "sequence": 480,
                                              "time_window": 480, "account": 480},
            "cdp_sync_minutes": 60,
            "max_anonymous_ids_per_profile": 5,
            "max_emails_per_profile": 5,
            "merge_on_email": True,
        },
        "sources": [
            {"url": "https://www.twilio.com/docs/segment/engage/product-limits",
             "claim": "Batch audiences are processed once every eight hours by default, later under the batch concurrency limit - read 2026-11-29"},
            {"url": "https://www.twilio.com/docs/segment/engage/using-engage-data",
             "claim": "List destinations receive a batch once per hour in most cases - read 2026-11-29"},
            {"url": "https://www.twilio.com/docs/segment/unify/identity-resolution/identity-resolution-settings",
             "claim": "Default identifier limits (user_id 1, others 5) and priority - read 2026-11-29"},
        ],
    },
    {
        "name": "salesforce-data-cloud-standard",
        "role": "cdp",
        "label": "Salesforce Data Cloud - standard segment publish (12 h)",
        "settings": {
            "cdp_mode": "batch",
            "cdp_batch_minutes": 720,
            "cdp_lookback_days": 90,
        },
        "sources": [
            {"url": "https://help.salesforce.com/apex/HTViewHelpDoc?id=data.c360_a_manage_segment_schedules.htm",
             "claim": "Standard daily publish: choose 12 hours or 24 hours; the profile picks 12 h (the more frequent option), 1440 via --set - read 2026-11-29"},
            {"url": "https://help.salesforce.com/s/articleView?id=data.c360_a_create_a_segment.htm",
             "claim": "Default lookback 90 days, up to 2 years - read 2026-11-29"},
        ],
    },
    {
        "name": "salesforce-data-cloud-rapid",
        "role": "cdp",
        "label": "Salesforce Data Cloud - rapid segment publish (1 h, last 7 days)",
        "settings": {
            "cdp_mode": "batch",
            "cdp_batch_minutes": 60,
            "cdp_lookback_days": 7,
        },
        "sources": [
            {"url": "https://help.salesforce.com/s/articleView?id=data.c360_a_rapid_segment_publish.htm",
             "claim": "Rapid publish on a 1-hour or 4-hour schedule, filtering only the past 7 days of engagement data; the profile picks 1 h, 240 via --set - read 2026-11-29"},
        ],
    },
    {
        "name": "posthog-cohorts",
        "role": "cdp",
        "label": "PostHog dynamic cohorts (recalculated every 24 h)",
        "settings": {
            "cdp_mode": "batch",
            "cdp_batch_minutes": 1440,
            "audience_cadence_by_rule_type": {"simple_event": 1440, "sequence": 1440,
                                              "time_window": 1440, "account": 1440},
            "merge_on_email": False,
        },
        "sources": [
            {"url": "https://github.com/PostHog/posthog/blob/ba12e429849963070b527da8bd2b0f254803e1a1/frontend/src/scenes/cohorts/CohortEdit.tsx",
             "claim": "PostHog's cohort page says 'Cohorts are recalculated every 24 hours' (product UI text) - read 2026-11-29"},
            {"url": "https://posthog.com/docs/data/realtime-cohorts",
             "claim": "Realtime cohorts (beta, off in most projects) update feature flags within about a minute; everything else keeps the normal schedule - read 2026-11-29"},
            {"url": "https://posthog.com/docs/data/identify",
             "claim": "Persons merge on distinct_id via identify/alias, an identified user cannot be re-identified with another id; no e-mail merge documented (inferred) - read 2026-11-29"},
        ],
    },
    {
        "name": "mparticle-realtime",
        "role": "cdp",
        "label": "mParticle real-time audiences (IDSync profile conversion)",
        "settings": {
            "cdp_mode": "realtime",
            "cdp_compute_minutes": 2.5,
            "cdp_lookback_days": 30,
            "identity_strategy": "profile_conversion",
            "merge_on_email": True,
        },
        "sources": [
            {"url": "https://docs.mparticle.com/guides/platform-guide/audiences/standard/",
             "claim": "Real-time audiences are constantly calculated, often forwarded in near real-time, and draw on the most recent 30 days of data (2023 docs snapshot) - read 2026-11-29"},
            {"url": "https://docs.mparticle.com/guides/idsync/default-strategy/",
             "claim": "Default identity strategy is profile conversion; unique and login ID default to Customer ID - read 2026-11-29"},
            {"url": "https://docs.mparticle.com/guides/idsync/profile-conversion-strategy/",
             "claim": "Example identity priority Customer ID > Email > device ids (example, not a stated default) - read 2026-11-29"},
            {"url": "https://www.twilio.com/docs/segment/engage/journeys/v2",
             "claim": "Assumed 2.5 min compute: no mParticle figure; same placeholder as every real-time CDP without one - read 2026-11-29"},
        ],
    },
    {
        "name": "bloomreach-engagement",
        "role": "cdp",
        "label": "Bloomreach Engagement (real-time, vendor claim)",
        "settings": {
            "cdp_mode": "realtime",
            "cdp_compute_minutes": 2.5,
        },
        "sources": [
            {"url": "https://www.twilio.com/docs/segment/connections/destinations/catalog/bloomreach-engagement",
             "claim": "Vendor-written: 'creates a unified source of customer intelligence in real-time, ready for immediate activation' (weak, marketing) - read 2026-11-29"},
            {"url": "https://documentation.bloomreach.com/engagement/docs/scenarios-1",
             "claim": "Scenarios provide real-time journey orchestration; no segmentation cadence published; 2.5 min assumed - read 2026-11-29"},
        ],
    },
    {
        "name": "hightouch-hourly",
        "role": "cdp",
        "label": "Warehouse-native CDP (Hightouch) on an hourly schedule",
        "settings": {
            "cdp_mode": "batch",
            "cdp_batch_minutes": 60,
            "hybrid_sync_minutes": 60,
        },
        "sources": [
            {"url": "https://www.hightouch.com/docs/syncs/schedule-sync-ui",
             "claim": "Syncs run manually, on an interval, a recurrence or a cron; no default interval is documented, hourly is assumed - read 2026-11-29"},
        ],
    },
    {
        "name": "hightouch-realtime",
        "role": "cdp",
        "label": "Warehouse-native CDP (Hightouch real-time audiences)",
        "settings": {
            "cdp_mode": "realtime",
            "cdp_compute_minutes": 2.5,
            "cdp_sync_minutes": 0.5,
            "audience_cadence_by_rule_type": {"simple_event": "realtime", "sequence": 60,
                                              "time_window": 60, "account": 60},
        },
        "sources": [
            {"url": "https://hightouch.com/docs/customer-studio/real-time",
             "claim": "Real-time audiences evaluate as events arrive and sync entries/exits 'in seconds' (0.5 min assumed); batch audiences re-run on a fixed interval (60 assumed) - read 2026-11-29"},
        ],
    },
    {
        "name": "census-continuous",
        "role": "cdp",
        "label": "Composable CDP / reverse ETL (Census, continuous sync)",
        "settings": {
            "cdp_mode": "batch",
            "cdp_batch_minutes": 60,
            "hybrid_sync_minutes": 1,
        },
        "sources": [
            {"url": "https://github.com/sutrolabs/census-docs/blob/main/basics/core-concept/triggering-syncs.md",
             "claim": "Continuous schedule: Census checks the source roughly every minute; the warehouse model refresh (60) is assumed - read 2026-11-29"},
        ],
    },
    {
        "name": "rudderstack-profiles",
        "role": "cdp",
        "label": "RudderStack Profiles (hourly run)",
        "settings": {
            "cdp_mode": "batch",
            "cdp_batch_minutes": 60,
        },
        "sources": [
            {"url": "https://rudderstack.com/docs/profiles/management/schedule",
             "claim": "Profiles runs every 15 min, 30 min, 1 h, 3 h, 6 h, 12 h or 24 h; the profile picks 1 h (assumed choice) - read 2026-11-29"},
        ],
    },
    # ---------------------------------------------------------------- sending-tool role
    {
        "name": "braze-streaming",
        "role": "sending",
        "label": "Braze (audiences streamed from the CDP, action-based delivery)",
        "settings": {"cdp_sync_minutes": 1},
        "sources": [
            {"url": "https://www.braze.com/docs/partners/data_and_analytics/customer_data_platform/segment/segment_engage/",
             "claim": "The Segment Engage to Braze connection defaults to Realtime (1 min assumed; no figure) - read 2026-11-29"},
            {"url": "https://www.braze.com/docs/user_guide/channels/push/troubleshooting",
             "claim": "Braze segment membership updates in real time and is checked at send time - read 2026-11-29"},
        ],
    },
    {
        "name": "braze-cohorts",
        "role": "sending",
        "label": "Braze (CDP audiences imported as cohorts, hourly)",
        "settings": {"cdp_sync_minutes": 60},
        "sources": [
            {"url": "https://www.twilio.com/docs/segment/connections/destinations/catalog/actions-braze-cohorts",
             "claim": "Engage audiences are uploaded to Braze cohorts as a list - read 2026-11-29"},
            {"url": "https://www.twilio.com/docs/segment/engage/using-engage-data",
             "claim": "List destinations receive a batch once per hour in most cases - read 2026-11-29"},
        ],
    },
    {
        "name": "iterable-lists",
        "role": "sending",
        "label": "Iterable (CDP audiences synced to lists, every 2-3 h)",
        "settings": {"cdp_sync_minutes": 150, "cdp_initial_sync_hours": 6},
        "sources": [
            {"url": "https://www.twilio.com/docs/segment/connections/destinations/catalog/actions-iterable-audiences",
             "claim": "Initial sync six or more hours, then every two to three hours; 150 = middle of the range - read 2026-11-29"},
            {"url": "https://support.iterable.com/hc/en-us/articles/15934993720468-Journey-Setup-The-Start-Tile",
             "claim": "A 'Subscribe to list' event starts a journey - read 2026-11-29"},
        ],
    },
    {
        "name": "iterable-events",
        "role": "sending",
        "label": "Iterable (events streamed from the CDP, triggered journeys)",
        "settings": {"cdp_sync_minutes": 1},
        "sources": [
            {"url": "https://www.twilio.com/docs/segment/connections/destinations/catalog/iterable",
             "claim": "Cloud-mode data flows into Iterable where it can trigger workflows (streaming; 1 min assumed) - read 2026-11-29"},
            {"url": "https://support.iterable.com/hc/en-us/articles/15934993720468-Journey-Setup-The-Start-Tile",
             "claim": "Custom events start journeys - read 2026-11-29"},
        ],
    },
    {
        "name": "mailchimp-synced",
        "role": "sending",
        "label": "ESP with synced lists (Mailchimp via Segment Engage, every 2-3 h)",
        "settings": {"cdp_sync_minutes": 150, "cdp_initial_sync_hours": 6},
        "sources": [
            {"url": "https://www.twilio.com/docs/segment/connections/destinations/catalog/mailchimp",
             "claim": "Initial sync six or more hours, then every two or three hours; 150 = middle of the range - read 2026-11-29"},
        ],
    },
    {
        "name": "esp-manual-upload",
        "role": "sending",
        "label": "ESP with list uploads (daily CSV upload)",
        "settings": {"cdp_sync_minutes": 1440},
        "sources": [
            {"url": "https://mailchimp.com/help/format-guidelines-for-your-import-file/",
             "claim": "Contacts arrive by importing a file; the daily upload cadence is assumed (a team choice, not a vendor figure) - read 2026-11-29"},
        ],
    },
]

#: Documented settings that are not applied, and why. ``("*", knob)``: the simulator has no such knob
#: (for every profile); ``(profile, knob)``: a knob exists but this profile's documented value does
#: not mean the same thing in the simulator, so applying it would misstate the product.
NOT_MODELLED: dict[tuple[str, str], str] = {
    ("*", "crm_merge_on_email"): (
        "already how every simulated CRM works: contacts are keyed on e-mail address (one contact per "
        "address, duplicates only under a second address), and no profile documents the opposite"),
    ("*", "crm_identify_on_email_click"): (
        "already how every simulated marketing CRM works: a tracked e-mail click identifies the browser "
        "(core/engine/viewsql.py, crm_browser); switching it off per product needs a change in the CRM view SQL"),
    ("*", "crm_to_cdp_sync_minutes"): (
        "the hybrid view joins CRM fields at the time the CRM recorded them; delaying them by a sync "
        "schedule needs a change in the hybrid view SQL, so the hybrid's CRM fields are up to this many "
        "minutes fresher than documented (it matters only for fields that change within hours)"),
    ("*", "identity_strategy"): (
        "identity resolution implements one strategy (priority user_id > email > anonymous id with "
        "per-profile limits, core/engine/identity.py), which matches profile conversion on the common "
        "paths; the other IDSync strategies are not modelled"),
    ("segment-realtime", "max_anonymous_ids_per_profile"): (
        "Segment's 5 applies within a sliding window ('5 weekly or 5 monthly'); the simulator counts "
        "identifiers over a profile's whole life, where its default 10 is the assumed lifetime "
        "equivalent, so applying 5 would split more profiles than Segment does"),
    ("segment-batch", "max_anonymous_ids_per_profile"): (
        "Segment's 5 applies within a sliding window ('5 weekly or 5 monthly'); the simulator counts "
        "identifiers over a profile's whole life, where its default 10 is the assumed lifetime "
        "equivalent, so applying 5 would split more profiles than Segment does"),
}


# --------------------------------------------------------------------------- knobs and values
def knob_destination(name: str) -> str | None:
    """Where a knob lives: 'world', 'identity', 'activation', 'campaign', 'engine' (None = no knob)."""
    if name in ENGINE_KNOBS:
        return "engine"
    if name in {f.name for f in fields(ActivationConfig)}:
        return "activation"
    if name in {f.name for f in fields(IdentityConfig)}:
        return "identity"
    if name in {f.name for f in fields(CampaignConfig)} - {"seed"}:
        return "campaign"
    if name in {f.name for f in fields(Knobs)} | {f.name for f in fields(Behaviour)}:
        return "world"
    return None


def canonical_event_types(value: Any) -> str:
    """The CRM's filterable events as one hashable text: names joined by commas, 'none' for no events.

    Only behaviour a marketing CRM's tracking can see is accepted (``CRM_EVENT_TYPES``)."""
    if isinstance(value, str):
        text = value.strip()
        names = [] if text.lower() == NO_EVENTS else [p.strip() for p in text.split(",") if p.strip()]
        if not names and text.lower() != NO_EVENTS:
            raise ConfigError(f"crm_event_types is empty; write '{NO_EVENTS}' for a CRM that sees no behaviour")
    elif isinstance(value, (list, tuple, set, frozenset)):
        names = [str(v) for v in value]
    else:
        raise ConfigError(f"crm_event_types must be a list of event types or '{NO_EVENTS}' (got {value!r})")
    bad = sorted(set(names) - CRM_EVENT_TYPES)
    if bad:
        raise ConfigError(f"crm_event_types: {', '.join(bad)} cannot be seen by a CRM's tracking; accepted: "
                          f"{', '.join(sorted(CRM_EVENT_TYPES))} or '{NO_EVENTS}'")
    return ",".join(sorted(set(names))) or NO_EVENTS


def event_types_of(value: str) -> frozenset[str]:
    """``canonical_event_types`` text → the frozenset the engine uses."""
    text = canonical_event_types(value)
    return frozenset() if text == NO_EVENTS else frozenset(text.split(","))


def engine_knobs(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments of ``EngineConfig`` (besides identity) found in ``settings``."""
    out: dict[str, Any] = {}
    if "crm_event_types" in settings:
        out["crm_event_types"] = event_types_of(settings["crm_event_types"])
    return out


def _canonical(knob: str, value: Any) -> Any:
    """A hashable, link-friendly spelling of a profile's value."""
    if knob == "crm_event_types":
        return canonical_event_types(value)
    if knob in ("audience_cadence_by_rule_type", "crm_list_refresh_by_rule_type"):
        return canonical_map(knob, value)
    return value


def _why(profile: str, knob: str) -> str | None:
    return NOT_MODELLED.get((profile, knob)) or NOT_MODELLED.get(("*", knob))


def _build(entry: Mapping[str, Any]) -> StackProfile:
    settings: list[tuple[str, Any]] = []
    skipped: list[NotModelled] = []
    for knob, value in entry["settings"].items():
        why = _why(entry["name"], knob)
        if why is not None:
            skipped.append(NotModelled(knob, list(value) if isinstance(value, list) else value, why))
            continue
        settings.append((knob, _canonical(knob, value)))
    return StackProfile(name=entry["name"], role=entry["role"], label=entry["label"],
                        settings=tuple(settings), read=READ_DATE, not_modelled=tuple(skipped),
                        sources=tuple(Source(s["url"], s["claim"]) for s in entry["sources"]))


STACKS: dict[str, StackProfile] = {p.name: p for p in (_build(e) for e in _CATALOGUE)}
"""Every profile by name, in catalogue order (CRM, CDP, sending tool)."""


# --------------------------------------------------------------------------- validation
def validate_catalogue(stacks: Mapping[str, StackProfile] | None = None) -> None:
    """Every profile has a known role, a label, at least one https source with a claim, and sets
    only real knobs to values their configs accept. Raises ConfigError listing every problem."""
    stacks = STACKS if stacks is None else stacks
    problems: list[str] = []
    for name, p in stacks.items():
        if p.role not in ROLES:
            problems.append(f"{name}: role {p.role!r} is not one of {', '.join(ROLES)}")
        if not p.label.strip():
            problems.append(f"{name}: no label")
        if not p.sources:
            problems.append(f"{name}: no source")
        for s in p.sources:
            if not s.url.startswith("https://") or not s.claim.strip():
                problems.append(f"{name}: source {s.url!r} needs an https URL and a claim")
        for knob, value in p.settings:
            if knob_destination(knob) is None:
                problems.append(f"{name}: {knob} is not a knob of the simulator")
                continue
            try:
                _check_value(knob, value)
            except (UserError, ConfigError, TypeError, ValueError) as exc:
                problems.append(f"{name}: {exc}")
        for n in p.not_modelled:  # a knob added since must be applied, unless a profile declines it on purpose
            if knob_destination(n.knob) is not None and (name, n.knob) not in NOT_MODELLED:
                problems.append(f"{name}: {n.knob} is a knob now; apply it instead of listing it as not modelled")
    if problems:
        raise ConfigError("stack catalogue: " + "; ".join(problems))


def _check_value(knob: str, value: Any) -> None:
    where = knob_destination(knob)
    if where == "engine":
        canonical_event_types(value)
    elif where == "activation":
        ActivationConfig(**{knob: value})
    elif where == "identity":
        IdentityConfig(**{knob: value})
    elif where == "campaign":
        CampaignConfig(**{knob: value})
    else:
        apply_overrides(WorldConfig(), {knob: value})


# --------------------------------------------------------------------------- choosing
def stacks_for(role: str) -> list[StackProfile]:
    """The profiles of one role, in catalogue order."""
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; accepted: {', '.join(ROLES)}")
    return [p for p in STACKS.values() if p.role == role]


def get_stack(name: str) -> StackProfile:
    if name not in STACKS:
        raise UserError(f"unknown stack {name!r}; accepted: {', '.join(STACKS)}")
    return STACKS[name]


def parse_stacks(names: Iterable[str] | None) -> dict[str, str]:
    """``--stack`` values → ``{role: name}``, at most one per role."""
    out: dict[str, str] = {}
    for raw in names or []:
        name = str(raw).strip()
        profile = get_stack(name)
        if profile.role in out and out[profile.role] != name:
            raise UserError(f"--stack takes one profile per role; {out[profile.role]!r} and {name!r} are both "
                            f"{ROLE_TITLES[profile.role]} profiles")
        out[profile.role] = name
    return out


def chosen(stacks: Mapping[str, str] | Iterable[str] | None) -> dict[str, str]:
    """``{role: name}`` from either that mapping or a list of names (validated)."""
    if stacks is None:
        return {}
    if isinstance(stacks, Mapping):
        names = [n for n in stacks.values() if n]
        out = parse_stacks(names)
        for role, name in stacks.items():
            if name and role in ROLES and STACKS[name].role != role:
                raise UserError(f"{name!r} is a {ROLE_TITLES[STACKS[name].role]} profile, not a {ROLE_TITLES[role]} one")
        return out
    return parse_stacks(stacks)


def stack_settings(stacks: Mapping[str, str] | Iterable[str] | None) -> dict[str, Any]:
    """The knob settings of the chosen profiles, CRM then CDP then sending tool (later roles win
    on a knob both set: the sending tool documents its own sync)."""
    picked = chosen(stacks)
    out: dict[str, Any] = {}
    for role in ROLES:
        if role in picked:
            out.update(STACKS[picked[role]].settings)
    return out


def stack_keys(stacks: Mapping[str, str] | Iterable[str] | None) -> dict[str, str]:
    """The Scenario settings that carry the chosen names: ``{"stack_crm": name, ...}``."""
    return {STACK_KEYS[role]: name for role, name in chosen(stacks).items()}


def stacks_in(settings: Mapping[str, Any]) -> dict[str, str]:
    """``{role: name}`` carried by a Scenario's settings (see :data:`STACK_KEYS`)."""
    return {role: str(settings[key]) for role, key in STACK_KEYS.items() if settings.get(key)}


def stack_title(stacks: Mapping[str, str]) -> str:
    """'HubSpot Marketing Hub (active lists) · Segment Engage - …' for page titles ('' for none)."""
    return " · ".join(STACKS[stacks[r]].label for r in ROLES if stacks.get(r) in STACKS)


@lru_cache(maxsize=2)
def map_choices(knob: str) -> dict[str, str]:
    """Words for the cadence maps the catalogue uses (for a select box): value → description."""
    out = {"": "One cadence for every rule (the setting above)"}
    for p in STACKS.values():
        value = p.settings_dict.get(knob)
        if value and value not in out:
            users = [q.name for q in STACKS.values() if q.settings_dict.get(knob) == value]
            out[value] = f"{describe_map(knob, value)} ({', '.join(users)})"
    return out


def _duration(minutes: float) -> str:
    if minutes >= 60 and minutes % 60 == 0:
        return f"{minutes / 60:g} h"
    return f"{minutes:g} min"


def describe_map(knob: str, value: str) -> str:
    """'simple event real time; sequence, time window, account every 8 h' from a cadence map."""
    groups: dict[str, list[str]] = {}
    for kind, v in parse_map(knob, value).items():
        words = "real time" if v == "realtime" else f"every {_duration(float(v))}"
        groups.setdefault(words, []).append(kind.replace("_", " "))
    return "; ".join(f"{', '.join(kinds)} {words}" for words, kinds in groups.items())


__all__ = ["ENGINE_KNOBS", "NOT_MODELLED", "ROLES", "ROLE_TITLES", "STACKS", "STACK_KEYS", "NotModelled", "Source",
           "StackProfile", "canonical_event_types", "chosen", "engine_knobs", "event_types_of", "get_stack",
           "knob_destination", "map_choices", "describe_map", "parse_stacks", "stack_keys", "stack_settings",
           "stack_title", "stacks_for", "stacks_in", "validate_catalogue"]
