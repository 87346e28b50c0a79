"""The fictional programme's cast: organisations across every sector, and project themes.

Names are invented (any likeness to a real trust or council is accidental); the themes are the
kinds of system change that 20/20-style programmes actually run.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.values import ImprovementDirection, Sector

SYSTEM_NAME = "Northshire and Dale Integrated Care System"
SYSTEM_REGION = "North East and Yorkshire"
PROGRAMME = "Northshire 20/20 Leadership Programme"

ORGANISATIONS: list[tuple[str, Sector, str | None]] = [
    ("Northshire Teaching Hospitals NHS Foundation Trust", Sector.ACUTE, "RX1"),
    ("Dale Valley Hospitals NHS Trust", Sector.ACUTE, "RX2"),
    ("Northshire Community Health Services", Sector.COMMUNITY, "RX3"),
    ("Dale and Moor Community Care CIC", Sector.COMMUNITY, "NX4"),
    ("Northshire and Dale Mental Health NHS Trust", Sector.MENTAL_HEALTH, "RX5"),
    ("Riverside Primary Care Network", Sector.PRIMARY_CARE, "U12345"),
    ("Moorland Practices Primary Care Network", Sector.PRIMARY_CARE, "U23456"),
    ("Castlegate Medical Group", Sector.PRIMARY_CARE, "B81001"),
    ("North Region Ambulance Service NHS Trust", Sector.AMBULANCE, "RX6"),
    ("Northshire Police", Sector.POLICE, None),
    ("Dale Valley Police", Sector.POLICE, None),
    ("Northshire Fire and Rescue Service", Sector.FIRE_AND_RESCUE, None),
    ("Northshire County Council Adult Social Care", Sector.LOCAL_AUTHORITY, None),
    ("Dale Borough Council", Sector.LOCAL_AUTHORITY, None),
    ("Northshire Children's Services", Sector.LOCAL_AUTHORITY, None),
    ("Moorside Academy Trust", Sector.EDUCATION, None),
    ("Northshire College", Sector.EDUCATION, None),
    ("Dale Homes Housing Association", Sector.HOUSING, None),
    ("Northshire Housing Partnership", Sector.HOUSING, None),
    ("Age Well Northshire", Sector.VOLUNTARY, None),
    ("Dale Carers Together", Sector.VOLUNTARY, None),
    ("Northshire Mind", Sector.VOLUNTARY, None),
    ("Northshire and Dale Integrated Care Board", Sector.INTEGRATED_CARE_BOARD, "QX1"),
    ("Northshire Hospice", Sector.OTHER, None),
    ("Dale Community Pharmacy Alliance", Sector.OTHER, None),
]

ROLE_TITLES = [
    "Ward manager",
    "Consultant geriatrician",
    "Advanced paramedic practitioner",
    "Inspector",
    "Station manager",
    "Social work team manager",
    "Practice manager",
    "Clinical pharmacist",
    "Head of operations",
    "Housing officer",
    "Deputy headteacher",
    "Service manager",
    "Community matron",
    "Discharge coordinator",
    "Volunteer programme lead",
    "Commissioning manager",
]


@dataclass(frozen=True)
class Theme:
    """A kind of project with the measure it is judged by and how that measure behaves."""

    title: str
    problem: str
    outcome: str
    measure: str
    unit: str
    direction: ImprovementDirection
    baseline: float
    noise: float
    effect: float
    target: float | None
    site: str


THEMES: list[Theme] = [
    Theme(
        "Reducing length of stay for frail older people",
        "Frail older people stay in hospital long after they are medically fit to leave.",
        "Shorter stays and more people home by day 7.",
        "Mean length of stay (frailty)",
        "days",
        ImprovementDirection.DOWN,
        9.2,
        0.55,
        -1.4,
        8.0,
        "Elderly care wards",
    ),
    Theme(
        "Fewer ambulance conveyances from care homes",
        "Care home residents are conveyed to the emergency department for falls that could be managed in place.",
        "Care home falls managed in place where safe.",
        "Conveyance rate from care homes",
        "% of calls",
        ImprovementDirection.DOWN,
        61.0,
        3.2,
        -9.0,
        50.0,
        "Care homes in Dale Valley",
    ),
    Theme(
        "Virtual ward for respiratory patients",
        "People with COPD exacerbations are admitted when they could be monitored at home.",
        "More respiratory patients cared for on a virtual ward.",
        "Virtual ward occupancy",
        "% of beds",
        ImprovementDirection.UP,
        54.0,
        4.0,
        18.0,
        80.0,
        "Respiratory virtual ward",
    ),
    Theme(
        "Medicines reconciliation at discharge",
        "Medication changes are lost between hospital and general practice.",
        "Every discharge has medicines reconciled within 72 hours.",
        "Medicines reconciled within 72 hours",
        "% of discharges",
        ImprovementDirection.UP,
        48.0,
        4.5,
        22.0,
        85.0,
        "Acute medical unit",
    ),
    Theme(
        "Falls prevention with fire and rescue home visits",
        "Older people who fall at home are not reached before the second fall.",
        "Home safety visits that also screen for falls risk.",
        "Falls-related emergency admissions",
        "per 1,000 over-65s",
        ImprovementDirection.DOWN,
        2.4,
        0.18,
        -0.35,
        2.0,
        "Fire and rescue safe and well visits",
    ),
    Theme(
        "Frequent attenders multi-agency case management",
        "A small group of people attend the emergency department every week without a joined-up plan.",
        "Shared care plans for frequent attenders.",
        "ED attendances by frequent attenders",
        "attendances",
        ImprovementDirection.DOWN,
        310.0,
        22.0,
        -70.0,
        240.0,
        "Emergency department",
    ),
    Theme(
        "Home by lunchtime: discharge before midday",
        "Discharges late in the day block admissions from the emergency department.",
        "More patients discharged before noon.",
        "Discharges before midday",
        "% of discharges",
        ImprovementDirection.UP,
        17.0,
        2.2,
        9.0,
        33.0,
        "Surgical and medical wards",
    ),
    Theme(
        "School readiness through family hubs",
        "Too many children start school without the speech and language skills they need.",
        "More children school-ready at reception.",
        "Children at expected level in communication",
        "% of children",
        ImprovementDirection.UP,
        71.0,
        2.5,
        6.0,
        80.0,
        "Family hubs",
    ),
    Theme(
        "Mental health crisis response with police",
        "People in mental health crisis are detained under section 136 when a health response would serve them better.",
        "Joint triage car reduces detentions.",
        "Section 136 detentions",
        "detentions",
        ImprovementDirection.DOWN,
        38.0,
        4.0,
        -10.0,
        28.0,
        "Street triage car",
    ),
    Theme(
        "Hospital discharge to housing",
        "People who are homeless stay in hospital because there is nowhere safe to discharge them to.",
        "Step-down flats with housing support.",
        "Delayed days for people without a home",
        "bed days",
        ImprovementDirection.DOWN,
        240.0,
        25.0,
        -80.0,
        150.0,
        "Step-down flats",
    ),
]

# Fictional fellows' names (first and last names combined by fellow number; 20 x 19 distinct
# pairs), with addresses on a domain reserved for examples, so no real person is named.
FIRST_NAMES = [
    "Amara",
    "Bethan",
    "Callum",
    "Deepa",
    "Eilidh",
    "Farhan",
    "Grace",
    "Hamza",
    "Imogen",
    "Jonah",
    "Kezia",
    "Lewis",
    "Maryam",
    "Niall",
    "Olusegun",
    "Priya",
    "Rhys",
    "Siobhan",
    "Tomasz",
    "Zara",
]
LAST_NAMES = [
    "Ashdown",
    "Brightwell",
    "Carrow",
    "Dunmore",
    "Ellery",
    "Fenwick",
    "Garside",
    "Holroyd",
    "Ingleby",
    "Jessop",
    "Kilbride",
    "Lowther",
    "Marsden",
    "Northcott",
    "Ormerod",
    "Pemberton",
    "Quayle",
    "Rushworth",
    "Stainton",
]
EMAIL_DOMAIN = "example.org"
