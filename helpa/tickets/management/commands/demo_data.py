"""`helpa demo_data`: a small, realistic helpdesk to try Helpa with (only into an empty database).

An IT service provider with three queues, two teams and five agents serves five customer
companies. About three months of work is simulated: every ticket, message and change goes
through the ticket actions (so numbers, history and the search index are what real use
produces), in chronological order; afterwards each row's timestamps are set to its simulated
time. The random seed is fixed, so every run produces the same helpdesk (relative to today).
"""

from __future__ import annotations

import random
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.apps import apps
from django.contrib.auth.hashers import make_password
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.db.models import F, Max, Min, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from helpa.accounts.models import Role, Team, User
from helpa.crm.identifiers import normalise_org_number, normalise_phone
from helpa.crm.models import Company, CompanyPhone, Contact
from helpa.lib import events
from helpa.tickets import actions
from helpa.tickets.models import (
    Article,
    ArticleKind,
    Attachment,
    Category,
    Channel,
    HelpdeskSettings,
    HistoryEntry,
    Notification,
    Priority,
    Queue,
    SavedSearch,
    Status,
    Ticket,
    TicketType,
)

PASSWORD = "demo"
SEED = 20261123
DAYS = 90

# --- The helpdesk ------------------------------------------------------------------------------

# (e-mail, name, role, teams)
AGENTS = [
    ("admin@example.com", "Ada Admin", Role.ADMIN, ["Ekonomi"]),
    ("agent@example.com", "Anna Agent", Role.AGENT, ["Support"]),
    ("erik.lindberg@example.com", "Erik Lindberg", Role.AGENT, ["Support", "Ekonomi"]),
    ("sara.holm@example.com", "Sara Holm", Role.AGENT, ["Ekonomi"]),
    ("johan.ek@example.com", "Johan Ek", Role.AGENT, ["Support"]),
]
# (name, slug, team)
QUEUES = [
    ("Support", "support", "Support"),
    ("Faktura", "faktura", "Ekonomi"),
    ("IT", "it", "Support"),
]
# Who usually takes a queue's tickets, with weights: Anna owns a good share of Support and IT.
OWNERS = {
    "support": [
        ("agent@example.com", 5),
        ("erik.lindberg@example.com", 3),
        ("johan.ek@example.com", 2),
    ],
    "it": [("agent@example.com", 4), ("johan.ek@example.com", 4), ("erik.lindberg@example.com", 2)],
    "faktura": [
        ("sara.holm@example.com", 6),
        ("admin@example.com", 2),
        ("erik.lindberg@example.com", 2),
    ],
}
TYPES = {
    "fault": (
        "Fel",
        "Något som fungerat har slutat fungera. Fråga efter skärmbild, felmeddelande och när "
        "felet började. Påverkas flera användare: sätt prioritet Hög och informera teamet i "
        "diskussionen.",
    ),
    "order": (
        "Beställning",
        "Kontrollera att beställaren har attesträtt hos kunden innan något beställs. Ange "
        "förväntat leveransdatum som förfallodatum.",
    ),
    "other": (
        "Övrigt",
        "Frågor och ärenden som inte är fel eller beställningar. Sätt kategori innan ärendet "
        "stängs, så blir statistiken rätt.",
    ),
}
CATEGORIES = [
    "Fakturering",
    "Hårdvara",
    "Konto och behörighet",
    "Nätverk",
    "Programvara",
    "Telefoni",
]
# (name, organisation number, customer number, phone, e-mail domain, contacts)
COMPANIES = [
    (
        "Fjällbacka Bygg AB",
        "556677-8899",
        "K-1001",
        "+46 525 310 00",
        "fjallbackabygg.se",
        ["Karin Andersson", "Lars Johansson", "Elin Svensson"],
    ),
    (
        "Norrsken Energi AB",
        "556123-4567",
        "K-1002",
        "+46 90 14 22 00",
        "norrskenenergi.se",
        ["Maria Nilsson", "Per Lindqvist", "Sofia Berglund", "Mats Öberg"],
    ),
    (
        "Bergen Fisk AS",
        "923 456 783",
        "K-1003",
        "+47 55 30 40 50",
        "bergenfisk.no",
        ["Ingrid Hansen", "Ola Olsen", "Kari Nordby", "Henrik Dahl"],
    ),
    (
        "Mälardalens Tandvård AB",
        "556987-6542",
        "K-1004",
        "+46 21 10 20 30",
        "mdtandvard.se",
        ["Astrid Wallin", "Nils Forsberg", "Emma Sjöberg", "Oskar Lund"],
    ),
    (
        "Kiruna Transport AB",
        "556444-3322",
        "K-1005",
        "+46 980 123 00",
        "kirunatransport.se",
        ["Anders Pettersson", "Linnea Holmberg", "Fredrik Sandberg", "Maja Eriksson"],
    ),
]
CUSTOMER = ("customer@example.com", "Carl Customer")  # a contact of the first company

# --- What the tickets are about ----------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    title: str
    queue: str
    type: str
    category: str
    lang: str
    request: str  # the customer's first message
    question: str  # our first reply (usually asking for something)
    answer: str  # the customer's answer
    solution: str  # our reply that solves it


S = Scenario
SCENARIOS = [
    # Support
    S(
        "Kan inte logga in i kundportalen",
        "support",
        "fault",
        "Konto och behörighet",
        "sv",
        'Jag får meddelandet "Fel användarnamn eller lösenord" fast jag är säker på att '
        "lösenordet stämmer. Det fungerade i fredags.",
        "Jag ser att kontot låstes efter fem misslyckade försök. Har du ett sparat lösenord i "
        "webbläsaren som kan vara gammalt?",
        "Ja, det stämmer, webbläsaren fyllde i ett gammalt lösenord. Jag har tagit bort det nu.",
        "Jag har låst upp kontot. Logga in med ditt nuvarande lösenord, så ska det fungera.",
    ),
    S(
        "Lösenordet har gått ut för {person}",
        "support",
        "fault",
        "Konto och behörighet",
        "sv",
        "{person} kan inte logga in sedan i morse, systemet säger att lösenordet har gått ut "
        "men länken för att byta det fungerar inte.",
        "Länken gäller i 30 minuter. Kan {person} försöka igen och klicka på länken direkt?",
        "Det gick inte heller, sidan visar bara ett fel 500.",
        "Det var ett fel i länkarna som skickades i morse, det är rättat. Jag har skickat en ny "
        "länk till {person}.",
    ),
    S(
        "The mobile app crashes on start",
        "support",
        "fault",
        "Programvara",
        "en",
        "Since this morning the app closes immediately when I open it. I have an iPhone 13 "
        "and reinstalled the app without any change.",
        "Thanks for the report. Which iOS version are you on, and which app version is shown "
        "in the App Store?",
        "iOS 17.5 and app version 4.2.0.",
        "Version 4.2.1, released today, fixes the crash on iOS 17.5. Please update from the App "
        "Store.",
    ),
    S(
        "Exporten till Excel ger tomma kolumner",
        "support",
        "fault",
        "Programvara",
        "sv",
        "När vi exporterar orderlistan till Excel blir kolumnerna Kund och Belopp tomma. "
        "Bifogar en skärmbild.",
        "Tack! Använder ni den nya eller den gamla exporten (knappen uppe till höger eller "
        "under Rapporter)?",
        "Knappen uppe till höger.",
        "Den nya exporten hade fel kolumnmappning för äldre ordrar. Det är åtgärdat, prova "
        "gärna igen.",
    ),
    S(
        "Please add {person} as a new user",
        "support",
        "order",
        "Konto och behörighet",
        "en",
        "{person} starts with us on Monday and needs an account with the same permissions as "
        "the rest of the sales team.",
        "Happy to help. Could you confirm {person}'s e-mail address and who approves the "
        "licence cost?",
        "The address is the usual firstname.lastname format, and I approve it as office manager.",
        "The account is created and {person} has received a welcome e-mail with instructions.",
    ),
    S(
        "Önskar byta abonnemang till Premium",
        "support",
        "order",
        "Fakturering",
        "sv",
        "Vi vill uppgradera till Premium från nästa månad, eftersom vi behöver fler användare "
        "och rapportmodulen.",
        "Vad roligt! Ska uppgraderingen gälla från den 1:a nästa månad och för alla 25 licenser?",
        "Ja, från den 1:a och för alla licenser.",
        "Uppgraderingen är bokad från den 1:a. Ni får en bekräftelse med det nya priset per "
        "e-post.",
    ),
    S(
        "Hur lägger jag till en signatur i e-posten?",
        "support",
        "other",
        "Programvara",
        "sv",
        "Hej, hur lägger jag in en signatur med logga som kommer med automatiskt i alla mejl?",
        "Använder du Outlook i webbläsaren eller programmet på datorn?",
        "Programmet på datorn.",
        "Gå till Arkiv → Alternativ → E-post → Signaturer. Där kan du klistra in loggan och "
        "välja att signaturen ska användas för nya meddelanden och svar.",
    ),
    S(
        "Rapporten för {month} visar fel siffror",
        "support",
        "fault",
        "Programvara",
        "sv",
        "Månadsrapporten för {month} visar en omsättning som är ungefär 10 % för låg jämfört "
        "med vår bokföring.",
        "Kan du skicka ett exempel på en order som saknas i rapporten?",
        "Order 4711 och 4712 från den sista i månaden saknas.",
        "Rapporten räknade bara ordrar till och med näst sista dagen. Felet är rättat och "
        "rapporten för {month} är uppdaterad.",
    ),
    S(
        "Question about the new booking module",
        "support",
        "other",
        "Programvara",
        "en",
        "Is it possible to let customers book two resources at the same time in the new "
        "booking module?",
        "Yes, with combined resources. Do you want me to set one up for you as an example?",
        "Yes please, for meeting room A together with the projector.",
        'Done: "Room A + projector" is now bookable. You can create more under Settings → '
        "Resources.",
    ),
    S(
        "Tvåfaktorsinloggning fungerar inte på ny telefon",
        "support",
        "fault",
        "Konto och behörighet",
        "sv",
        "{person} har bytt telefon och får inga koder längre i autentiseringsappen.",
        "Koderna är kopplade till den gamla telefonen. Har {person} kvar den gamla telefonen?",
        "Nej, den är redan inlämnad.",
        "Jag har nollställt tvåfaktorsinloggningen. Vid nästa inloggning får {person} en ny "
        "QR-kod att skanna.",
    ),
    # Faktura
    S(
        "Fakturan för {month} verkar fel",
        "faktura",
        "other",
        "Fakturering",
        "sv",
        "Fakturan för {month} är nästan dubbelt så hög som vanligt. Vi har inte lagt till några "
        "användare.",
        "Jag ser att 12 testkonton räknats som aktiva i {month}. Är de fortfarande i bruk?",
        "Nej, de användes bara vid en utbildning och kan tas bort.",
        "Testkontona är borttagna och ni får en kreditfaktura på mellanskillnaden inom ett par "
        "dagar.",
    ),
    S(
        "Invoice {invoice}: wrong VAT number",
        "faktura",
        "other",
        "Fakturering",
        "en",
        "Invoice {invoice} shows our old VAT number. Our accounting cannot book it like this.",
        "Sorry about that. Could you send us the correct VAT number so we can update your "
        "customer record?",
        "It is NO923456783MVA.",
        "The customer record is updated and a corrected invoice {invoice} has been sent.",
    ),
    S(
        "Fråga om moms på faktura {invoice}",
        "faktura",
        "other",
        "Fakturering",
        "sv",
        "Varför står det 25 % moms på utbildningen på faktura {invoice}? Vi trodde att den var "
        "momsfri.",
        "Utbildningen är momspliktig eftersom den är en del av en tjänst. Vill du ha ett "
        "underlag till er revisor?",
        "Ja tack, det vore bra.",
        "Underlaget är skickat till dig per e-post.",
    ),
    S(
        "Dubbeldebitering i {month}",
        "faktura",
        "other",
        "Fakturering",
        "sv",
        "Vi har blivit dragna två gånger för abonnemanget i {month}, se kontoutdraget.",
        "Jag ser båda dragningarna. Ska vi återbetala till kontot eller kvitta mot nästa faktura?",
        "Återbetala gärna till kontot.",
        "Återbetalningen är gjord och syns på ert konto inom tre bankdagar.",
    ),
    S(
        "Ändrad fakturaadress",
        "faktura",
        "order",
        "Fakturering",
        "sv",
        "Från och med nästa månad ska fakturorna skickas till vår nya ekonomiavdelning: "
        "faktura@{domain}.",
        "Ska även påminnelser gå till den nya adressen?",
        "Ja, allt som rör fakturor.",
        "Fakturaadressen är ändrad för fakturor och påminnelser.",
    ),
    S(
        "Påminnelse trots att fakturan är betald",
        "faktura",
        "other",
        "Fakturering",
        "sv",
        "Vi fick en påminnelse för faktura {invoice} men den betalades för två veckor sedan.",
        "Kan du skicka betalningsdatum och vilket OCR-nummer ni använde?",
        "Betald den 3:e, men vi skrev fakturanumret i stället för OCR.",
        "Betalningen är nu matchad mot fakturan och påminnelsen är makulerad.",
    ),
    S(
        "Please send invoices as e-invoice (Peppol)",
        "faktura",
        "order",
        "Fakturering",
        "en",
        "From next quarter we only accept e-invoices via Peppol. Can you send them that way?",
        "Certainly. What is your Peppol ID?",
        "0192:923456783.",
        "Done: from the next invoice on you will receive all invoices via Peppol.",
    ),
    # IT
    S(
        "Skrivaren på plan {floor} skriver inte ut",
        "it",
        "fault",
        "Hårdvara",
        "sv",
        "Skrivaren på plan {floor} tar emot utskrifter men inget kommer ut. Displayen visar "
        '"Pappersstopp" fast det inte sitter något papper fast.',
        "Kan du stänga av skrivaren, vänta 30 sekunder och starta den igen?",
        "Samma sak efter omstart.",
        "Sensorn för pappersstopp var smutsig. Vår tekniker har rengjort den och skrivaren "
        "fungerar igen.",
    ),
    S(
        "VPN-anslutningen bryts hela tiden",
        "it",
        "fault",
        "Nätverk",
        "sv",
        "VPN:en kopplar ner var tionde minut när jag jobbar hemifrån. Kollegorna har samma "
        "problem.",
        "Vilken version av VPN-klienten har ni, och händer det både på wifi och mobilt nät?",
        "Version 5.1 och det händer på båda.",
        "Vi har uppdaterat VPN-servern och klienten till 5.2, som rättar nedkopplingarna.",
    ),
    S(
        "Beställning av ny laptop till {person}",
        "it",
        "order",
        "Hårdvara",
        "sv",
        "Vi behöver en ny laptop till {person} som börjar om två veckor. Samma modell som "
        "övriga på ekonomi.",
        "Det blir en 14-tums standardmodell med dockningsstation. Ska vi leverera till kontoret?",
        "Ja, till receptionen.",
        "Datorn är installerad och levererad till receptionen.",
    ),
    S(
        "Wi-Fi in meeting room {room} is very slow",
        "it",
        "fault",
        "Nätverk",
        "en",
        "Video calls in meeting room {room} keep freezing. The Wi-Fi seems much slower there "
        "than in the rest of the office.",
        "Could you run a speed test in the room and send us the result?",
        "12 Mbit/s down and 3 up. In the corridor I get over 200.",
        "The access point in {room} had fallen back to an old channel. We have replaced it; "
        "speed tests now show over 300 Mbit/s.",
    ),
    S(
        "E-posten kommer inte fram till kunder",
        "it",
        "fault",
        "Nätverk",
        "sv",
        "Flera kunder säger att de inte fått våra mejl sedan i går. Vi får inga felmeddelanden.",
        "Har ni ett exempel på en mottagare och ungefär när mejlet skickades?",
        "Till en kund på gmail.com i går kl 14.",
        "SPF-posten för er domän saknade vår nya e-postserver. Den är tillagd och mejlen går "
        "fram igen.",
    ),
    S(
        "Need access to the shared drive {share}",
        "it",
        "order",
        "Konto och behörighet",
        "en",
        'I need read and write access to the shared drive "{share}" for the annual report.',
        "Access to {share} needs approval from your manager. Who should approve it?",
        "My manager Per Lindqvist, he is in copy.",
        "Approved and done: you now have read and write access to {share}. Log out and in "
        "again to see it.",
    ),
    S(
        "Skärmen flimrar på {person}s dator",
        "it",
        "fault",
        "Hårdvara",
        "sv",
        "Skärmen flimrar hela tiden på {person}s dator, särskilt när den sitter i dockan.",
        "Händer det också med en annan skärmkabel?",
        "Vi testade en annan kabel och då blev det bättre men inte helt bra.",
        "Vi har bytt dockningsstationen, som var trasig. Nu är bilden stabil.",
    ),
    S(
        "Beställning: två extra skärmar till {dept}",
        "it",
        "order",
        "Hårdvara",
        "sv",
        "Vi vill beställa två extra 27-tumsskärmar till {dept}.",
        "Ska skärmarna ha USB-C så att de kan laddas via skärmkabeln?",
        "Ja, gärna USB-C.",
        "Skärmarna är levererade och uppsatta.",
    ),
    S(
        "Telefonen visar fel nummer vid utgående samtal",
        "it",
        "fault",
        "Telefoni",
        "sv",
        "När vi ringer ut visas ett mobilnummer i stället för vårt växelnummer.",
        "Gäller det alla anknytningar eller bara några?",
        "Alla på kontoret.",
        "Nummerpresentationen i växeln var återställd efter en uppdatering. Nu visas "
        "växelnumret igen.",
    ),
    S(
        "Outlook keeps asking for the password",
        "it",
        "fault",
        "Programvara",
        "en",
        "Outlook asks for my password every few minutes, even though I enter the right one.",
        "Did you change your password recently? Please also check whether the credential "
        "manager has an old entry.",
        "Yes, last week. I removed the old entry but it still asks.",
        "We reset your Outlook profile remotely; it no longer asks for the password.",
    ),
    S(
        "Backupen rapporterar fel sedan {weekday}",
        "it",
        "fault",
        "Programvara",
        "sv",
        "Vi får ett mejl varje natt om att säkerhetskopieringen misslyckats, sedan {weekday}.",
        "Kan du skicka det senaste felmeddelandet?",
        '"Target volume is full".',
        "Lagringen för säkerhetskopior var full. Vi har utökat den och rensat gamla versioner; "
        "nattens backup gick bra.",
    ),
]

MONTHS = {
    "sv": "januari februari mars april maj juni juli augusti september oktober november december".split(),
    "en": "January February March April May June July August September October November December".split(),
}
FILL = {
    "person": ["Lisa Ström", "Jonas Berg", "Hanna Lind", "Viktor Sund", "Tove Åberg", "Kim Dahl"],
    "invoice": ["20231", "20457", "20788", "21012", "21346"],
    "floor": ["1", "2", "3", "4", "5"],
    "room": ["Fjorden", "Kebnekaise", "Saltsjön", "Vättern"],
    "share": ["Ekonomi", "Projekt", "Marknad", "HR"],
    "dept": ["ekonomiavdelningen", "kundtjänst", "lagret", "receptionen"],
    "weekday": ["måndags", "tisdags", "onsdags", "torsdags", "fredags"],
}

TEXT = {
    "sv": {
        "hello": "Hej {name}!",
        "customer_hello": "Hej!",
        "regards": "Vänliga hälsningar<br>{name}",
        "customer_bye": "Mvh<br>{name}",
        "thanks": [
            "Tack, nu fungerar det!",
            "Perfekt, tack för snabb hjälp!",
            "Tack så mycket, det ser bra ut nu.",
        ],
        "nudge": [
            "Finns det något nytt i ärendet?",
            "Har ni hunnit titta på det här?",
            "Jag hör av mig igen, vi behöver få det här löst snart.",
        ],
        "nudge_fault": [
            "Vi har fortfarande problem, och det påverkar hela avdelningen.",
            "Jag testade igen i morse, samma sak tyvärr.",
        ],
        "working": [
            "Tack för informationen, jag tittar vidare på det och återkommer.",
            "Jag undersöker saken och hör av mig så snart jag vet mer.",
        ],
        "working_fault": [
            "Vi har kunnat återskapa felet och arbetar på en lösning.",
            "Jag har eskalerat ärendet till vår leverantör.",
        ],
        "hold": "Vi väntar på svar från leverantören. Jag återkommer så snart jag vet mer.",
        "check": "Fungerar det som det ska nu? Hör av dig om något fortfarande krånglar.",
    },
    "en": {
        "hello": "Hi {name},",
        "customer_hello": "Hi,",
        "regards": "Best regards<br>{name}",
        "customer_bye": "Regards<br>{name}",
        "thanks": [
            "Thanks, it works now!",
            "Great, thank you for the quick help!",
            "Thank you, all good now.",
        ],
        "nudge": [
            "Any news on this?",
            "Just checking in, we would like to get this sorted soon.",
        ],
        "nudge_fault": [
            "We still have the problem and it affects the whole team.",
            "I tried again this morning, still the same.",
        ],
        "working": [
            "Thanks for the details, I am looking into it and will get back to you.",
            "I am checking this and will get back to you as soon as I know more.",
        ],
        "working_fault": [
            "We have reproduced the problem and are working on a fix.",
            "I have escalated this to our supplier.",
        ],
        "hold": "We are waiting for our supplier. I will get back to you as soon as I know more.",
        "check": "Does everything work as expected now? Let me know if anything is still wrong.",
    },
}
NOTES = [
    "Kollat loggarna, felet syns första gången {time}.",
    "Ringde kunden, de testar igen i morgon förmiddag.",
    "Samma problem som förra månaden hos en annan kund, se tidigare ärende.",
    "Kontrollerat i adminpanelen: inställningarna ser rätt ut.",
    "Pratade med leverantörens support, de har fått ärendenummer SR-{number}.",
    "Kunden har avtal med 4 timmars åtgärdstid, prioritera.",
]
DISCUSSION = [
    (
        "@{handle} kan du ta en titt på det här? Du löste något liknande förra veckan.",
        "Absolut, jag kollar efter lunch.",
    ),
    (
        "@{handle} vet du om leverantören har svarat på vår fråga?",
        "Inte än, jag påminner dem i dag.",
    ),
    (
        "@{handle} behöver vi offert för det här, eller räcker ramavtalet?",
        "Ramavtalet räcker upp till 20 000 kr.",
    ),
]

# A long troubleshooting thread (about 30 entries) for one of Anna's tickets.
LONG_THREAD = [
    ("customer", "Nu kopplar VPN:en ner ännu oftare, ungefär var femte minut."),
    (
        "reply",
        "Kan du prova att ansluta via mobilens internetdelning, så vi ser om det är nätet hemma?",
    ),
    ("customer", "Samma sak via mobilen."),
    ("note", 'Klientloggen visar "keepalive timeout" precis före varje nedkoppling.', 20),
    ("reply", "Tack! Kan du skicka klientloggen? Den finns under Hjälp → Exportera logg."),
    ("customer", "Här kommer loggen.", "log"),
    (
        "discussion",
        '@erik.lindberg har du sett "keepalive timeout" från den nya brandväggen?',
        "agent@example.com",
    ),
    (
        "discussion",
        "@agent ja, det var samma sak hos Norrsken. Höj timeouten till 120 s.",
        "erik.lindberg@example.com",
    ),
    ("reply", "Vi har justerat en inställning på servern. Märker du någon skillnad?"),
    ("customer", "Bättre! Nu gick det en timme utan avbrott, men sedan kom det igen."),
    ("note", "Timeout höjd till 120 s på VPN-servern. Fortfarande enstaka avbrott.", 30),
    ("reply", "Vilken dator och vilket operativsystem använder du?"),
    ("customer", "En HP EliteBook med Windows 11, den senaste uppdateringen."),
    (
        "reply",
        "Kan du kontrollera att nätverkskortets energisparläge är avstängt? Jag bifogar en bild på var inställningen finns.",
        "image",
    ),
    ("customer", "Det var påslaget, jag har stängt av det nu."),
    ("reply", "Bra, hör av dig i morgon om hur det har gått."),
    ("customer", "Tyvärr kopplade den ner två gånger i förmiddags."),
    (
        "note",
        "Ringde användaren och gick igenom inställningarna tillsammans, allt ser rätt ut.",
        45,
    ),
    (
        "discussion",
        "@johan.ek kan du kolla om det finns en nyare drivrutin för nätverkskortet i EliteBook G9?",
        "agent@example.com",
    ),
    (
        "discussion",
        "@agent ja, 22.150 från förra veckan. Jag lägger ut den via Intune i kväll.",
        "johan.ek@example.com",
    ),
    (
        "reply",
        "Vi skickar ut en ny drivrutin till din dator i kväll. Starta gärna om datorn i morgon bitti.",
    ),
    ("customer", "Jag har startat om. Vi får se hur det går."),
    ("customer", "Nu har det fungerat hela dagen utan ett enda avbrott!"),
    ("reply", "Vad skönt! Vi låter ärendet vara öppet några dagar till för säkerhets skull."),
    (
        "note",
        "Drivrutinen verkar ha löst det. Samma modell finns hos fler kunder, se diskussionen.",
        15,
    ),
    ("customer", "Fungerar fortfarande bra. Kollegan har dock fått samma problem nu."),
    ("reply", "Tack för att du säger till. Har kollegan också en EliteBook?"),
    ("customer", "Ja, samma modell. Ska hon skapa ett eget ärende?"),
    ("reply", "Nej, vi skickar ut drivrutinen till alla era EliteBook-datorer i kväll."),
    ("note", "Drivrutin 22.150 utskickad till alla EliteBook G9 hos kunden.", 25),
]

# Three tickets with sub-tickets: (title, queue, type, owner, status, days ago, children).
# Each child: (title, queue, owner or None, status).
PARENTS = [
    (
        "Driftstörning: e-post till externa mottagare studsar",
        "it",
        "fault",
        "agent@example.com",
        Status.OPEN,
        3,
        [
            (
                "Kontrollera SPF- och DKIM-poster för kunddomänerna",
                "it",
                "agent@example.com",
                Status.OPEN,
            ),
            (
                "Kontakta leverantören av e-postfiltret",
                "it",
                "erik.lindberg@example.com",
                Status.ON_HOLD,
            ),
            (
                "Informera berörda kunder om störningen",
                "support",
                "johan.ek@example.com",
                Status.CLOSED,
            ),
            ("Uppföljning: rutin för förnyelse av certifikat", "it", None, Status.NEW),
        ],
    ),
    (
        "Onboarding av ny kund: Kiruna Transport AB",
        "support",
        "order",
        "erik.lindberg@example.com",
        Status.OPEN,
        12,
        [
            (
                "Skapa användarkonton för Kiruna Transport",
                "support",
                "agent@example.com",
                Status.CLOSED,
            ),
            ("Beställ licenser (25 st)", "faktura", "sara.holm@example.com", Status.OPEN),
            ("Utbildning för personalen", "support", "johan.ek@example.com", Status.OPEN),
        ],
    ),
    (
        "Kontorsflytt för Bergen Fisk AS",
        "it",
        "order",
        "johan.ek@example.com",
        Status.CLOSED,
        40,
        [
            ("Flytta skrivare och skannrar", "it", "johan.ek@example.com", Status.CLOSED),
            ("Nätverk och wifi i de nya lokalerna", "it", "erik.lindberg@example.com", Status.OPEN),
            ("Flytta telefonin till nya adressen", "it", None, Status.NEW),
        ],
    ),
]

# How many ordinary tickets of each status (plus 3 parents and 10 sub-tickets: 200 in all).
STATUS_COUNTS = [
    (Status.NEW, 18),
    (Status.OPEN, 45),
    (Status.WAITING, 24),
    (Status.ON_HOLD, 14),
    (Status.RESOLVED, 20),
    (Status.CLOSED, 66),
]
# When tickets of each status were created: (min, max) days ago.
AGE = {
    Status.NEW: (0.05, 3),
    Status.OPEN: (0.3, 30),
    Status.WAITING: (1, 21),
    Status.ON_HOLD: (2, 45),
    Status.RESOLVED: (2, 20),
    Status.CLOSED: (4, DAYS),
}
# The rows the ticket actions write with the current time, dated afterwards by the simulation.
STAMPED = [HistoryEntry, Article, Attachment]
CHANNELS = [
    (Channel.EMAIL, 10),
    (Channel.PHONE, 4),
    (Channel.PORTAL, 3),
    (Channel.FORM, 1),
    (Channel.AGENT, 2),
]


# --- Generated files -----------------------------------------------------------------------------


def make_png(width: int, height: int, accent: tuple[int, int, int]) -> bytes:
    """A small "screenshot": a window with a title bar and an error dialog in the accent colour."""
    rows = []
    for y in range(height):
        row = bytearray()
        for x in range(width):
            if y < 14:
                pixel = (40, 60, 90)
            elif width // 4 <= x < 3 * width // 4 and height // 3 <= y < 2 * height // 3:
                top = y < height // 3 + 10
                pixel = accent if top else (250, 250, 250)
            elif x < 60:
                pixel = (225, 230, 238)
            else:
                pixel = (245, 246, 248) if (y // 12) % 2 else (236, 238, 242)
            row.extend(pixel)
        rows.append(b"\x00" + bytes(row))

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + chunk(b"IEND", b"")
    )


def _screenshot(rng: random.Random, name: str = "skarmbild.png") -> SimpleUploadedFile:
    accent = rng.choice([(200, 50, 50), (220, 140, 30), (60, 120, 200)])
    return SimpleUploadedFile(name, make_png(320, 200, accent), content_type="image/png")


def _log_file(rng: random.Random, when: datetime) -> SimpleUploadedFile:
    start = timezone.localtime(when) - timedelta(hours=2)
    lines = []
    for n in range(25):
        stamp = start + timedelta(seconds=37 * n + rng.randint(0, 30))
        level, text = rng.choice(
            [
                ("INFO", "connection established"),
                ("INFO", "keepalive sent"),
                ("WARN", "keepalive timeout, retrying"),
                ("ERROR", "connection lost (code 0x2746)"),
            ]
        )
        lines.append(f"{stamp:%Y-%m-%d %H:%M:%S} {level:5} {text}")
    content = ("\n".join(lines) + "\n").encode()
    return SimpleUploadedFile("klientlogg.txt", content, content_type="text/plain")


def _invoice_csv(invoice: str) -> SimpleUploadedFile:
    content = (
        "faktura;rad;artikel;antal;pris\n"
        f"{invoice};1;Licens Standard;25;149,00\n"
        f"{invoice};2;Licens Standard (testkonton);12;149,00\n"
        f"{invoice};3;Support Bas;1;2 500,00\n"
    ).encode()
    return SimpleUploadedFile(f"faktura-{invoice}.csv", content, content_type="text/csv")


# --- The simulation --------------------------------------------------------------------------


class TicketRef:
    """A ticket that a later step creates, for the steps planned before it exists."""

    ticket: Ticket | None = None

    def set(self, ticket: Ticket) -> None:
        self.ticket = ticket

    def get(self) -> Ticket:
        assert self.ticket is not None, "a step ran before its ticket was created"
        return self.ticket


@dataclass
class Plan:
    """One ticket to create and the steps of its life."""

    key: int
    scenario: Scenario | None
    status: str
    start: datetime
    queue: str
    contact: Contact | None
    channel: str
    owner: User | None
    priority: int
    fill: dict[str, str] = field(default_factory=dict)
    ticket_ref: TicketRef = field(default_factory=TicketRef)
    steps: list[tuple[datetime, Callable[[], None]]] = field(default_factory=list)


def _weighted(rng: random.Random, pairs: list[tuple[Any, int]]) -> Any:
    return rng.choices([p for p, _w in pairs], weights=[w for _p, w in pairs])[0]


def _para(*parts: str) -> str:
    return "".join(f"<p>{p}</p>" for p in parts if p)


class Command(BaseCommand):
    help = "Load demo data (queues, teams, agents, contacts, 200 tickets) into an empty database."

    def handle(self, *args: Any, **options: Any) -> None:
        if Ticket.objects.exists():
            self.stdout.write(
                "demo data already present (the database has tickets); nothing loaded"
            )
            return
        self.now = timezone.now().replace(microsecond=0)
        self.rng = random.Random(SEED)
        # Times depend on when the command runs; their own generator keeps the rest identical.
        self.clock_rng = random.Random(SEED + 1)
        with transaction.atomic():
            self._load()
            # The apps above the ticket core add their own demo content (knowledge base, …).
            events.publish("demo_data.loaded", admin=User.objects.get(email="admin@example.com"))
        # Notifications are written when the transaction commits: date them like their ticket
        # and leave only the recent ones unread.
        self._settle_notifications()
        self._settle_outbox()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data loaded: {Ticket.objects.count()} tickets, "
                f"{Article.objects.count()} messages, {Contact.objects.count()} contacts."
            )
        )
        self.stdout.write(
            f"Logins (password {PASSWORD!r}): admin@example.com, agent@example.com, "
            "customer@example.com"
        )

    def _settle_outbox(self) -> None:
        """The demo's replies went out long ago: their mails are recorded as sent, so nothing
        of the demo ever reaches a mail server once one is configured. (Looked up by name: the
        ticket core does not import the mail app above it.)"""
        outgoing_mail = apps.get_model("mail", "OutgoingMail")
        written = Article.objects.filter(pk=OuterRef("article_id")).values("created_at")
        # Confirmations of portal and form requests belong to no entry: dated by their ticket.
        opened = Ticket.objects.filter(pk=OuterRef("ticket_id")).values("created_at")
        when = Coalesce(Subquery(written), Subquery(opened), F("created_at"))
        outgoing_mail.objects.filter(state="queued").update(
            state="sent", sent_at=when, created_at=when, last_error=""
        )

    # --- Setting up the helpdesk ---------------------------------------------------------------

    def _load(self) -> None:
        settings = HelpdeskSettings.load()
        settings.editor_mode = HelpdeskSettings.EditorMode.HTML
        settings.max_attachment_mb = 10
        settings.field_rules = {name: "optional" for name in HelpdeskSettings.OPTIONAL_FIELDS}
        settings.save()

        teams = {name: Team.objects.get_or_create(name=name)[0] for name in ("Support", "Ekonomi")}
        self.agents: dict[str, User] = {}
        for email, name, role, team_names in AGENTS:
            user = self._user(email, name, role)
            for team in team_names:
                teams[team].members.add(user)
            self.agents[email] = user
        self.anna = self.agents["agent@example.com"]
        self.handles = {u.pk: u.email.split("@")[0] for u in self.agents.values()}

        self.queues: dict[str, Queue] = {}
        self.queue_team: dict[str, Team] = {}
        for name, slug, team in QUEUES:
            queue = Queue.objects.get_or_create(name=name, defaults={"slug": slug})[0]
            queue.teams.add(teams[team])
            self.queues[slug] = queue
            self.queue_team[slug] = teams[team]
        self.team_members = {
            slug: list(team.members.order_by("email")) for slug, team in self.queue_team.items()
        }

        self.types = {
            key: TicketType.objects.get_or_create(name=name, defaults={"instructions": text})[0]
            for key, (name, text) in TYPES.items()
        }
        self.categories = {
            name: Category.objects.get_or_create(name=name)[0] for name in CATEGORIES
        }

        self.contacts: list[Contact] = []
        self.domains: dict[int, str] = {}
        for n, (name, org, number, phone, domain, people) in enumerate(COMPANIES):
            company = Company.objects.create(
                name=name,
                organisation_number=normalise_org_number(org),
                customer_number=number,
                # The demo customer's company lets colleagues see each other's tickets.
                portal_shares_tickets=n == 0,
            )
            CompanyPhone.objects.create(company=company, number=normalise_phone(phone))
            self.domains[company.pk] = domain
            if n == 0:
                self.customer = self._user(CUSTOMER[0], CUSTOMER[1], Role.CUSTOMER)
                self.customer_contact = Contact.objects.create(
                    name=CUSTOMER[1],
                    email=CUSTOMER[0],
                    company=company,
                    user=self.customer,
                )
                self.customer_contact.phones.create(number=normalise_phone("+46 70 555 12 34"))
                self.contacts.append(self.customer_contact)
            for m, person in enumerate(people):
                local = person.lower().replace(" ", ".").translate(str.maketrans("åäöø", "aaoo"))
                colleague = Contact.objects.create(
                    name=person, email=f"{local}@{domain}", company=company
                )
                colleague.phones.create(
                    number=normalise_phone(f"+46 70 {n + 1}{m:02d} {10 + 7 * m:02d} {30 + n:02d}")
                )
                self.contacts.append(colleague)

        plans = self._plan_tickets()
        self._run(plans)
        self._settle_tickets()

        SavedSearch.objects.create(
            name="Brådskande (hög prioritet)",
            owner=self.agents["admin@example.com"],
            is_shared=True,
            query="view=active&priority=3&sort=due",
        )
        SavedSearch.objects.create(
            name="Mina försenade", owner=self.anna, query="view=mine&due=overdue"
        )

    def _user(self, email: str, name: str, role: str) -> User:
        user = User.objects.filter(email=email).first()
        if user:  # someone created it already (e.g. `helpa createsuperuser`): keep it as it is
            return user
        if not hasattr(self, "password_hash"):  # hashing is slow on purpose: once is enough
            self.password_hash = make_password(PASSWORD)
        user = User(email=email, full_name=name, role=role, password=self.password_hash)
        user.is_staff = user.is_superuser = role == Role.ADMIN
        user.save()
        return user

    # --- Planning: every ticket's life as a list of timed steps ---------------------------------

    def _start(self, status: str) -> datetime:
        low, high = AGE[status]
        days = low + (high - low) * self.rng.random() ** 1.3
        start = self.now - timedelta(days=days)
        # Most requests arrive in office hours on weekdays.
        local = timezone.localtime(start)
        if local.weekday() >= 5:
            local -= timedelta(days=local.weekday() - 4)
        office = local.replace(hour=self.rng.randint(7, 16), minute=self.rng.randint(0, 59))
        return office if office < self.now - timedelta(hours=1) else start

    def _pick_owner(self, queue: str) -> User:
        return self.agents[_weighted(self.rng, OWNERS[queue])]

    def _colleague(self, queue: str, of: User) -> User:
        return self.rng.choice([u for u in self.team_members[queue] if u != of])

    def _plan_tickets(self) -> list[Plan]:
        rng = self.rng
        statuses = [status for status, count in STATUS_COUNTS for _n in range(count)]
        rng.shuffle(statuses)
        priorities = [(Priority.LOW, 3), (Priority.MEDIUM, 5), (Priority.HIGH, 2)]
        plans: list[Plan] = []
        for n, status in enumerate(statuses):
            scenario = SCENARIOS[n % len(SCENARIOS)]
            channel = _weighted(rng, CHANNELS)
            if n % 17 == 0:  # Carl, the demo customer, writes in the portal
                contact, channel = self.customer_contact, Channel.PORTAL
            else:
                contact = rng.choice(self.contacts[1:])
                if channel == Channel.PORTAL:
                    channel = Channel.EMAIL
            plan = Plan(
                key=n,
                scenario=scenario,
                status=status,
                start=self._start(status),
                queue=scenario.queue,
                contact=contact,
                channel=channel,
                owner=None if status == Status.NEW else self._pick_owner(scenario.queue),
                priority=_weighted(rng, priorities),
                fill={key: rng.choice(values) for key, values in FILL.items()},
            )
            plan.fill["domain"] = self.domains.get(contact.company_id or 0, "example.com")
            plans.append(plan)

        # The long thread: one of Anna's open VPN tickets, going on for two weeks.
        long_plan = next(
            p
            for p in plans
            if p.status == Status.OPEN and p.scenario and p.scenario.title.startswith("VPN")
        )
        long_plan.owner = self.anna
        long_plan.channel = Channel.EMAIL
        long_plan.start = self.now - timedelta(days=16, hours=3)
        long_plan.priority = Priority.HIGH
        self.long_key = long_plan.key
        # Thirteen tickets come with a screenshot, a log or an invoice file (the long thread adds
        # a log and a pasted image: 15 attachments in all).
        candidates = [p.key for p in plans if p.key != self.long_key]
        self.attach_keys = set(rng.sample(candidates, 13))

        for plan in plans:
            self._plan_life(plan)
        plans.extend(self._plan_parents(len(plans)))
        return plans

    def _plan_life(self, plan: Plan) -> None:
        """An ordinary ticket: arrival, triage, a thread, and its final status."""
        rng = self.rng
        sc, contact, owner = plan.scenario, plan.contact, plan.owner
        assert sc is not None and contact is not None
        lang = TEXT[sc.lang]
        fill = plan.fill
        first_name = contact.name.split()[0]
        nudges = lang["nudge"] + (lang["nudge_fault"] if sc.type == "fault" else [])
        working_lines = lang["working"] + (lang["working_fault"] if sc.type == "fault" else [])
        # "the invoice for October" is about the month before the ticket's
        last_month = timezone.localtime(plan.start).replace(day=1) - timedelta(days=1)
        fill["month"] = MONTHS[sc.lang][last_month.month - 1]
        clock = [plan.start]

        def at(low_hours: float, high_hours: float, step: Callable[[], None]) -> None:
            by_customer = isinstance(step, partial) and step.func == self._customer
            later = clock[0] + timedelta(hours=rng.uniform(low_hours, high_hours))
            clock[0] = self._working_time(later, by_customer)
            plan.steps.append((clock[0], step))

        def customer_says(text: str) -> str:
            return _para(lang["customer_hello"], text, lang["customer_bye"].format(name=first_name))

        def agent_says(agent: User, text: str) -> str:
            return _para(
                lang["hello"].format(name=first_name),
                text,
                lang["regards"].format(name=agent.get_short_name()),
            )

        # Arrival. Mail, portal and form tickets arrive as the customer's message; phone and
        # agent tickets are written by an agent, who sets type, category and priority at once.
        from_customer = plan.channel in (Channel.EMAIL, Channel.PORTAL, Channel.FORM)
        moved = sc.queue == "faktura" and from_customer and owner is not None and plan.key % 4 == 0
        arrival_queue = "support" if moved else plan.queue
        due_at = None
        if plan.key % 3 == 0:
            due = timezone.localtime(plan.start + timedelta(days=rng.randint(1, 10)))
            due_at = due.replace(hour=16, minute=0, second=0, microsecond=0)
        classified: dict[str, Any] = {
            "type": self.types[sc.type],
            "category": self.categories[sc.category],
            "priority": plan.priority,
            "due_at": due_at,
        }
        files: list[SimpleUploadedFile] = []
        if plan.key in self.attach_keys:
            if sc.queue == "faktura":
                files = [_invoice_csv(fill["invoice"])]
            elif plan.key % 2:
                files = [_log_file(rng, plan.start)]
            else:
                files = [_screenshot(rng)]
        fields: dict[str, Any] = {"contact": contact, "team": self.queue_team[arrival_queue]}
        title = sc.title.format(**fill)
        request = sc.request.format(**fill)
        if from_customer:
            actor: User | actions.Actor = (
                self.customer
                if contact == self.customer_contact
                else actions.Actor(name=contact.name)
            )
            plan.steps.append(
                (
                    plan.start,
                    partial(
                        self._arrive,
                        plan,
                        actor,
                        arrival_queue,
                        title,
                        "",
                        fields,
                        customer_says(request),
                        files,
                    ),
                )
            )
        else:
            said = {
                ("sv", True): "Kunden ringde",
                ("sv", False): "Från kunden",
                ("en", True): "Customer called",
                ("en", False): "From the customer",
            }[sc.lang, plan.channel == Channel.PHONE]
            creator = owner or self._pick_owner(plan.queue)
            plan.steps.append(
                (
                    plan.start,
                    partial(
                        self._arrive,
                        plan,
                        creator,
                        arrival_queue,
                        title,
                        _para(f"{said}: {request}"),
                        {**fields, **classified},
                        "",
                        files,
                    ),
                )
            )

        if owner is None:  # New: nobody has taken it yet; perhaps the customer asks again
            if from_customer and rng.random() < 0.3:
                nudge = customer_says(rng.choice(nudges))
                at(3, 20, partial(self._customer, plan, nudge))
            return

        # Triage: moved to the right queue, taken, classified.
        if moved:
            to_billing = {"queue": self.queues["faktura"], "team": self.queue_team["faktura"]}
            at(0.1, 2, partial(self._update, plan, self.anna, to_billing))
        triage: dict[str, Any] = {"owner": owner, "status": Status.OPEN}
        if from_customer:
            triage.update(classified)
        at(0.1, 4, partial(self._update, plan, owner, triage))

        if plan.key == self.long_key:
            self._plan_long_thread(plan, owner, clock[0], customer_says, agent_says)
            return

        # The conversation.
        question = agent_says(owner, sc.question.format(**fill))
        at(0.1, 3, partial(self._reply, plan, owner, question, rng.choice([0, 0, 5, 10])))
        if plan.status == Status.WAITING and rng.random() < 0.6:
            at(0.01, 0.05, partial(self._status, plan, owner, Status.WAITING))
            return
        at(1, 28, partial(self._customer, plan, customer_says(sc.answer.format(**fill))))
        if rng.random() < 0.4:
            note = rng.choice(NOTES).format(time="08:12", number=rng.randint(10000, 99999))
            at(0.2, 3, partial(self._note, plan, owner, note, rng.choice([10, 15, 20, 30, 45, 60])))
        if plan.key % 15 == 4:
            asked = self.anna if plan.queue != "faktura" and owner != self.anna else None
            asked = asked or self._colleague(plan.queue, owner)
            question_text, answer_text = rng.choice(DISCUSSION)
            post = _para(question_text.format(handle=self.handles[asked.pk]))
            answer = _para(f"@{self.handles[owner.pk]} {answer_text}")
            at(0.1, 2, partial(self._discuss, plan, owner, post))
            at(0.2, 4, partial(self._discuss, plan, asked, answer))
        if plan.key % 10 == 7:
            at(0.1, 2, partial(self._follow, plan, owner, self._colleague(plan.queue, owner)))
        if plan.key % 13 == 5 and plan.queue != "faktura" and owner != self.anna:
            at(0.1, 2, partial(self._follow, plan, self.anna, self.anna))
        for _round in range(rng.choice([0, 0, 0, 1, 1, 2, 3])):
            working = agent_says(owner, rng.choice(working_lines))
            at(0.5, 6, partial(self._reply, plan, owner, working, 5))
            at(2, 30, partial(self._customer, plan, customer_says(rng.choice(nudges))))
        if plan.priority != Priority.HIGH and rng.random() < 0.1:
            at(0.1, 1, partial(self._update, plan, owner, {"priority": Priority.HIGH}))

        if plan.status == Status.OPEN:
            return
        if plan.status == Status.WAITING:
            working = agent_says(owner, rng.choice(working_lines))
            at(0.5, 5, partial(self._reply, plan, owner, working, 10))
            at(0.01, 0.05, partial(self._status, plan, owner, Status.WAITING))
            return
        if plan.status == Status.ON_HOLD:
            at(0.5, 5, partial(self._reply, plan, owner, agent_says(owner, lang["hold"]), 10))
            until = None  # until further notice, or until a date the worker wakes it up
            if plan.key % 2:
                wake = timezone.localtime(self.now + timedelta(days=rng.randint(2, 20)))
                until = wake.replace(hour=8, minute=0, second=0, microsecond=0)
            at(0.01, 0.05, partial(self._status, plan, owner, Status.ON_HOLD, until))
            return

        # Resolved or closed: the solution, perhaps the customer's thanks, and the status.
        solution = agent_says(owner, sc.solution.format(**fill) + " " + lang["check"])
        at(1, 30, partial(self._reply, plan, owner, solution, rng.choice([10, 15, 20, 30])))
        at(0.01, 0.05, partial(self._status, plan, owner, Status.RESOLVED))
        if plan.status == Status.RESOLVED:
            return
        if rng.random() < 0.6:
            at(1, 20, partial(self._customer, plan, customer_says(rng.choice(lang["thanks"]))))
        at(1, 72, partial(self._close, plan, owner))

    def _plan_long_thread(
        self,
        plan: Plan,
        owner: User,
        start: datetime,
        customer_says: Callable[[str], str],
        agent_says: Callable[[User, str], str],
    ) -> None:
        """About thirty entries of troubleshooting, spread until a couple of hours ago."""
        gap = (self.now - timedelta(hours=2) - start) / len(LONG_THREAD)
        when = start
        for kind, text, *extra in LONG_THREAD:
            when = self._working_time(when + gap * self.rng.uniform(0.3, 0.8), kind == "customer")
            step: Callable[[], None]
            if kind == "customer":
                files = [_log_file(self.rng, when)] if extra == ["log"] else []
                step = partial(self._customer, plan, customer_says(text), files)
            elif kind == "reply":
                body = agent_says(owner, text)
                files = []
                if extra == ["image"]:  # a pasted image: an attachment the body points at
                    body += '<p><img src="cid:energisparlage.png" alt="Energisparläge"></p>'
                    files = [_screenshot(self.rng, "energisparlage.png")]
                step = partial(self._reply, plan, owner, body, 10, files)
            elif kind == "note":
                step = partial(self._note, plan, owner, text, extra[0])
            else:
                author = self.agents[extra[0]]
                step = partial(self._discuss, plan, author, _para(text))
            plan.steps.append((when, step))

    def _plan_parents(self, first_key: int) -> list[Plan]:
        """Three tickets with sub-tickets; the oldest is closed together with its children."""
        rng = self.rng
        plans = []
        for n, (title, queue, type_key, owner_email, status, days, children) in enumerate(PARENTS):
            owner = self.agents[owner_email]
            start = self.now - timedelta(days=days, hours=rng.randint(1, 6))
            parent = Plan(
                key=first_key + len(plans),
                scenario=None,
                status=status,
                start=start,
                queue=queue,
                contact=self.contacts[1 + 4 * n],
                channel=Channel.AGENT,
                owner=owner,
                priority=Priority.HIGH,
            )
            plans.append(parent)
            description = _para(
                f"Samlingsärende: {title}. Delarna hanteras i underärenden.",
                "Uppdatera detta ärende när en del är klar.",
            )
            fields = {
                "type": self.types[type_key],
                "priority": Priority.HIGH,
                "team": self.queue_team[queue],
                "owner": owner,
                "status": Status.OPEN,
                "contact": parent.contact,
            }
            parent.steps.append(
                (start, partial(self._arrive, parent, owner, queue, title, description, fields))
            )
            t = start + timedelta(hours=1)
            for c, (child_title, child_queue, child_owner_email, child_status) in enumerate(
                children
            ):
                child_owner = self.agents[child_owner_email] if child_owner_email else None
                t += timedelta(hours=rng.uniform(0.2, 3))
                child = Plan(
                    key=first_key + len(plans),
                    scenario=None,
                    status=child_status,
                    start=t,
                    queue=child_queue,
                    contact=parent.contact,
                    channel=Channel.AGENT,
                    owner=child_owner,
                    priority=Priority.MEDIUM,
                )
                plans.append(child)
                child_fields: dict[str, Any] = {
                    "parent": parent.ticket_ref,
                    "contact": parent.contact,
                    "team": self.queue_team[child_queue],
                    "type": self.types["order" if "Beställ" in child_title else "other"],
                    "due_at": t + timedelta(days=5) if c % 2 == 0 else None,
                }
                if child_owner:
                    child_fields.update(owner=child_owner, status=Status.OPEN)
                child.steps.append(
                    (
                        t,
                        partial(
                            self._arrive, child, owner, child_queue, child_title, "", child_fields
                        ),
                    )
                )
                if child_owner is None:
                    continue
                done = t + timedelta(hours=rng.uniform(2, 48))
                if child_status == Status.CLOSED:
                    child.steps.append(
                        (done, partial(self._note, child, child_owner, "Klart.", 30))
                    )
                    child.steps.append(
                        (done + timedelta(minutes=3), partial(self._close, child, child_owner))
                    )
                else:
                    note = "Påbörjat, status uppdateras här."
                    child.steps.append((done, partial(self._note, child, child_owner, note, 30)))
                if child_status == Status.ON_HOLD:
                    child.steps.append(
                        (
                            done + timedelta(minutes=3),
                            partial(self._status, child, child_owner, Status.ON_HOLD),
                        )
                    )
            update = t + timedelta(hours=rng.uniform(2, 24))
            note = "Underärendena är skapade och fördelade i teamet."
            parent.steps.append((update, partial(self._note, parent, owner, note, 20)))
            if status == Status.CLOSED:
                parent.steps.append(
                    (update + timedelta(days=4), partial(self._close, parent, owner, True))
                )
        return plans

    # --- Running the steps -------------------------------------------------------------------

    def _arrive(
        self,
        plan: Plan,
        actor: User | actions.Actor,
        queue: str,
        title: str,
        description: str,
        fields: dict[str, Any],
        message: str = "",
        files: list[SimpleUploadedFile] | None = None,
    ) -> None:
        fields = {k: v.get() if isinstance(v, TicketRef) else v for k, v in fields.items()}
        plan.ticket_ref.set(
            actions.open_ticket(
                actor,
                queue=self.queues[queue],
                title=title,
                description=description,
                channel=plan.channel,
                attachments=[] if message else files or [],
                **fields,
            )
        )
        if message:
            self._customer(plan, message, files)

    def _update(self, plan: Plan, actor: User, changes: dict[str, Any]) -> None:
        actions.update_ticket(actor, plan.ticket_ref.get(), changes)

    def _status(self, plan: Plan, actor: User, status: str, until: datetime | None = None) -> None:
        actions.set_status(actor, plan.ticket_ref.get(), status, on_hold_until=until)

    def _close(self, plan: Plan, actor: User, with_children: bool = False) -> None:
        actions.close_ticket(actor, plan.ticket_ref.get(), close_children=with_children)

    def _follow(self, plan: Plan, actor: User, user: User) -> None:
        actions.follow(actor, plan.ticket_ref.get(), user)

    def _discuss(self, plan: Plan, actor: User, body: str) -> None:
        actions.add_discussion_post(actor, plan.ticket_ref.get(), body)

    def _customer(
        self, plan: Plan, body: str, files: list[SimpleUploadedFile] | None = None
    ) -> None:
        assert plan.contact is not None
        actions.add_article(
            None,
            plan.ticket_ref.get(),
            ArticleKind.CUSTOMER,
            body,
            contact=plan.contact,
            author_name=plan.contact.name,
            attachments=files or [],
        )

    def _reply(
        self,
        plan: Plan,
        actor: User,
        body: str,
        minutes: int,
        files: list[SimpleUploadedFile] | None = None,
    ) -> None:
        actions.add_reply(
            actor, plan.ticket_ref.get(), body, time_spent_minutes=minutes, attachments=files or []
        )

    def _note(self, plan: Plan, actor: User, text: str, minutes: int) -> None:
        actions.add_note(actor, plan.ticket_ref.get(), _para(text), time_spent_minutes=minutes)

    def _run(self, plans: list[Plan]) -> None:
        """Run every step of every ticket in time order (so numbers follow creation time), and
        date the rows each step wrote with the step's simulated time."""
        cutoff = self.now - timedelta(minutes=10)
        # Office hours and the cutoff both keep the order of the steps of one ticket; equal
        # times keep the planned order (n).
        timed = []
        for plan in plans:
            for when, step in plan.steps:
                if plan.scenario is None:  # parents and sub-tickets: planned in plain hours
                    when = self._office_hours(when)
                timed.append((min(when, cutoff), len(timed), step))
        steps = sorted(timed, key=lambda item: item[:2])
        # The rows a step wrote are the ids above the previous step's highest ones.
        dated: list[list[Any]] = [[], [], []]
        before = self._top_ids()
        late = 0
        for when, _n, step in steps:
            step()
            if when == cutoff:  # squeezed into the last minutes, still in order
                late += 1
                when = cutoff + timedelta(seconds=late)
            after = self._top_ids()
            for rows, model, low, high in zip(dated, STAMPED, before, after, strict=True):
                rows.extend(model(pk=pk, created_at=when) for pk in range(low + 1, high + 1))
            before = after
        for rows, model in zip(dated, STAMPED, strict=True):
            model.objects.bulk_update(rows, ["created_at"], batch_size=500)

    def _working_time(self, when: datetime, by_customer: bool = False) -> datetime:
        """Agents work 07–18 on weekdays, customers write 07–22 any day: a time outside that
        moves to a random moment of the next such morning. Never earlier than `when`, so the
        steps of a ticket keep their order."""
        local = timezone.localtime(when)
        start, end = (7, 22) if by_customer else (7, 18)
        if (by_customer or local.weekday() < 5) and start <= local.hour < end:
            return when
        day = local.replace(hour=start, minute=0, second=0, microsecond=0)
        if local.hour >= start:
            day += timedelta(days=1)
        while not by_customer and day.weekday() >= 5:
            day += timedelta(days=1)
        moved = day + timedelta(minutes=self.clock_rng.uniform(0, 180))
        # Not into the future, though: then it happened after hours (someone was on call).
        return moved if moved < self.now - timedelta(minutes=30) else when

    @staticmethod
    def _office_hours(when: datetime) -> datetime:
        """Move a time outside office hours (07–18 on weekdays) into the early hour before the
        next working day starts, keeping the order: the night (or weekend) is squeezed into it."""
        local = timezone.localtime(when)
        if local.weekday() < 5 and 7 <= local.hour < 18:
            return when
        closed = local.replace(hour=18, minute=0, second=0, microsecond=0)
        if local.hour < 18:
            closed -= timedelta(days=1)
        while closed.weekday() >= 5:
            closed -= timedelta(days=1)
        opens = local.replace(hour=7, minute=0, second=0, microsecond=0)
        if local.hour >= 7:
            opens += timedelta(days=1)
        while opens.weekday() >= 5:
            opens += timedelta(days=1)
        return opens - timedelta(hours=1) * (1 - (local - closed) / (opens - closed))

    @staticmethod
    def _top_ids() -> tuple[int, ...]:
        """The highest id of each table in STAMPED, in one query."""
        quote = connection.ops.quote_name
        tops = ", ".join(f"(SELECT MAX(id) FROM {quote(m._meta.db_table)})" for m in STAMPED)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {tops}")
            return tuple(top or 0 for top in cursor.fetchone())

    def _settle_tickets(self) -> None:
        """Each ticket's created/updated/resolved/closed times from its dated history."""
        history = HistoryEntry.objects.values_list("ticket")
        created = dict(history.filter(field="created").annotate(t=Min("created_at")))
        changed = dict(
            history.exclude(field__in=["follower_added", "child_added"]).annotate(
                t=Max("created_at")
            )
        )
        written = dict(Article.objects.values_list("ticket").annotate(t=Max("created_at")))
        statuses = history.filter(field="status")
        resolved = dict(statuses.filter(new_value=Status.RESOLVED).annotate(t=Min("created_at")))
        closed = dict(statuses.filter(new_value=Status.CLOSED).annotate(t=Max("created_at")))
        for pk, resolved_at, closed_at in Ticket.objects.values_list(
            "pk", "resolved_at", "closed_at"
        ):
            times = [created[pk], changed.get(pk), written.get(pk)]
            Ticket.objects.filter(pk=pk).update(
                created_at=created[pk],
                updated_at=max(t for t in times if t),
                resolved_at=resolved.get(pk) if resolved_at else None,
                closed_at=closed.get(pk) if closed_at else None,
            )

    def _settle_notifications(self) -> None:
        updated = Ticket.objects.filter(pk=OuterRef("ticket_id")).values("updated_at")[:1]
        Notification.objects.filter(read_at=None).update(created_at=Subquery(updated))
        Notification.objects.filter(created_at__lt=self.now - timedelta(days=2)).update(
            read_at=F("created_at") + timedelta(hours=1)
        )
