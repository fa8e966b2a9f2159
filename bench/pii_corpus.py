"""Deterministic generator of a labelled PII corpus (French and English).

Run ``python bench/pii_corpus.py``: it rewrites ``bench/pii_data/{fr,en}_{tune,
holdout}.jsonl`` byte for byte identically on every run (fixed seeds, no clock,
no hash-order dependence), asserts that every gold span is sound and prints, per
split, the number of texts, of distinct templates and the entity counts per type.

What is labelled
----------------
The policy's rule for free text: persons; places (cities, regions, countries,
street addresses, postal codes); organisations (employers, hospitals, schools,
shops, companies, banks); every concrete date and clock time (a birth date is
DATE_OF_BIRTH, any other date or time DATE_TIME); phones, e-mails, URLs and
domains, IP addresses; national and financial identifiers. Relative or generic
time words ("demain", "hier", "ce matin", "lundi", "le week-end", "tomorrow",
"last Tuesday", "Monday to Friday") and durations ("48 h", "10 ans", "30 days")
are not PII and stay unlabelled. See ``bench/pii_data/README.md`` for the span
conventions of every type.

Design
------
Every text is rendered from a *template*: a phrasing with slots such as
``{name}``, ``{phone}``, ``{addr}`` or ``{order}``. A slot renders to one or
more *pieces* (text plus an optional gold label), so the gold offsets are
computed while the text is assembled and never searched for afterwards. Slot
values are synthetic (Faker names, IBANs and domains, generated phone numbers
checked with ``phonenumbers``, Luhn / mod-97 identifiers checked with
``python-stdnum``, SSNs in the valid area/group/serial ranges) and are kept
consistent inside one text: the same persona gives the name, the e-mail and
profile URL derived from it, the birth date, the NIR (sex, year and month of
birth) and the grammatical gender ("né"/"née", "Mme"/"M."); the postal code
agrees with the city (département, ZIP prefix or UK outward code) and a second
date falls after the first.

Four kinds of texts, shuffled together:

* ``mix``: optional opener (32 phrasings per language) + one or two PII clauses
  (8-14 phrasings per clause group) + optional closer (32 phrasings). The
  clause type is picked among the four least-covered types, which keeps the
  entity counts balanced, and one clause in four is of a random type, so that
  the types comments already cover (places, dates) get clause phrasings too.
  A part that ends on a value ("IBAN : FR76 ...") is followed by a line
  break, ". ", " – " or a plain space. Template id
  ``fr-mix-o04-tel06-addr02-z12`` (indices into the full lists).
* ``cs``: hand-written customer-service comments (complaints, delivery issues,
  account changes, refund requests, call-backs, agent notes), some informal
  (lower case, no accents, typos) and several multi-sentence.
* ``negmix`` and ``csneg``: the same without PII (about 25 % of the texts), but
  full of look-alikes: order and tracking numbers, amounts, product references,
  invoice numbers, last four card digits, percentages, version numbers,
  five-digit batch numbers, durations, weekdays and relative time words. A
  ``negmix`` text only takes the openers and closers that hold no PII slot.

About 12 % of the texts are additionally rendered in an informal style (lower
case, accents stripped, a few typos and dropped apostrophes in the literal
words); their template id ends with ``+inf``. The typos never touch a gold span,
so offsets stay exact.

Tune and holdout never share a phrasing: every phrasing list (openers, closers,
clauses of each group, neutral clauses, comments) is split by index parity, the
tune split takes the even indices and the holdout split the odd ones; the two
splits also use different random and Faker seeds. Holdout shapes are therefore
never seen while tuning a detector on the tune split. No phrasing appears twice
in a language's lists (checked at start-up).

Label conventions (see ``bench/pii_data/README.md``): titles are outside PERSON
spans; postal code and city are outside STREET_ADDRESS and labelled on their
own (POSTAL_CODE, LOCATION; a US state abbreviation is a LOCATION of its own);
prepositions and articles are outside LOCATION and ORGANIZATION spans, the
generic head of a name ("hôpital", "lycée", "University of") is inside; a
place inside an organisation or street name belongs to that span; DATE_TIME
covers the date or the clock time only, a leading weekday is inside, a date and
a time joined by a word ("le 3 juin à 14h") are two spans, a timestamp
("18/02/2024 16:34") is one; DATE_OF_BIRTH covers the date only and only when it
is given as a birth date.
"""

from __future__ import annotations

import calendar
import ipaddress
import json
import random
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import phonenumbers
from faker import Faker
from stdnum import iban as std_iban
from stdnum import luhn
from stdnum.fr import nir as std_nir
from stdnum.fr import siren as std_siren
from stdnum.fr import siret as std_siret
from stdnum.fr import tva as std_tva

OUT_DIR = Path(__file__).resolve().parent / "pii_data"
N_TEXTS = 800  # per language and split
MIN_PER_TYPE = 60
MIN_LEN, MAX_LEN = 70, 300
INFORMAL_RATE = 0.12
SPLITS = ("tune", "holdout")
SEEDS = {
    ("fr", "tune"): 1_100,
    ("fr", "holdout"): 2_200,
    ("en", "tune"): 3_300,
    ("en", "holdout"): 4_400,
}

PERSON = "PERSON"
LOCATION = "LOCATION"
STREET = "STREET_ADDRESS"
POSTAL = "POSTAL_CODE"
ORG = "ORGANIZATION"
DATE_TIME = "DATE_TIME"
DOB = "DATE_OF_BIRTH"
EMAIL = "EMAIL_ADDRESS"
PHONE = "PHONE_NUMBER"
URL = "URL"
IP = "IP_ADDRESS"
IBAN = "IBAN_CODE"
CARD = "CREDIT_CARD"
SSN = "US_SSN"
NIR = "FR_NIR"
SIREN = "FR_SIREN"
SIRET = "FR_SIRET"
VAT = "FR_VAT"
# In the policy's order (gateway/policy/models.py PII_ENTITIES). French texts
# hold no US SSN, English texts no French registry number.
_COMMON = (PERSON, LOCATION, STREET, POSTAL, ORG, DATE_TIME, DOB, EMAIL, PHONE)
_MONEY = (URL, IP, IBAN, CARD)
FR_TYPES = (*_COMMON, *_MONEY, NIR, SIREN, SIRET, VAT)
EN_TYPES = (*_COMMON, *_MONEY, SSN)
TYPES = {"fr": FR_TYPES, "en": EN_TYPES}

# Clause group -> the label it is chosen for when balancing the counts.
GROUP_LABEL = {
    "name": PERSON,
    "who": PERSON,
    "loc": LOCATION,
    "addr": STREET,
    "cp": POSTAL,
    "org": ORG,
    "when": DATE_TIME,
    "dob": DOB,
    "mail": EMAIL,
    "tel": PHONE,
    "url": URL,
    "ip": IP,
    "iban": IBAN,
    "card": CARD,
    "ssn": SSN,
    "nir": NIR,
    "siren": SIREN,
    "siret": SIRET,
    "tva": VAT,
}

# Slots that never render PII: the only ones a negative text may use.
NEUTRAL_SLOTS = frozenset(
    {
        *("order", "ticket", "invoice", "quote", "custno", "tracking", "ref"),
        *("amount", "amount2", "pct", "lot", "giftcard", "last4", "e"),
    }
)

DIGITS = "0123456789"
UPPER = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def phrasings(block: str) -> list[str]:
    """One phrasing per line; an indented line continues the previous one.

    ``¶`` stands for a line break inside a text.
    """
    items: list[str] = []
    for line in block.strip("\n").splitlines():
        if line.startswith("  "):
            items[-1] += " " + line.strip()
        elif line.strip():
            items.append(line.strip())
    return [re.sub(r"\s*¶\s*", "\n", item) for item in items]


# ---------------------------------------------------------------------------
# French phrasings
# ---------------------------------------------------------------------------

FR_OPENERS = phrasings("""
Bonjour,
Bonjour, je vous contacte au sujet de ma commande n° {order}.
Madame, Monsieur,
Suite à notre échange téléphonique du {odate}, voici les informations demandées.
Bonsoir,
Re: commande {order}
Objet : mise à jour de mes informations.
Je reviens vers vous concernant le ticket {ticket}.
Comme convenu lors de l'appel du {odate} à {otime}, je vous transmets mes infos.
Note conseiller :
Bonjour, petite mise à jour sur mon compte.
Bonjour, j'ai un souci avec la livraison prévue le {odate}.
Hello,
Mise à jour du dossier client ({ticket}).
Bonjour, ma commande de {amount} n'est pas conforme.
Demande de modification reçue via le formulaire de contact.
Bonjour, le remboursement de {amount} annoncé le {odate} n'est jamais arrivé.
Bonjour, je souhaite modifier mes informations personnelles.
Je fais suite au mail reçu ce matin à {otime}.
Réclamation concernant l'article réf. {ref}.
Bonjour, client depuis plus de 10 ans, je suis très déçu.
Appel entrant du {stamp}, demande de mise à jour.
Bonjour à toute l'équipe,
Bonjour, votre promo de {pct} ne fonctionne pas.
Commentaire laissé sur l'espace client le {odate} :
Bonjour, j'ai reçu un article abîmé (commande {order}).
Madame, Monsieur, je me permets de vous relancer.
Bonjour, suite à l'incident n° {ticket}, voici mes coordonnées.
Message transmis par le service client :
Bonjour, je n'arrive plus à accéder à mon compte depuis le {odate}.
Bjr,
Bonjour, c'est au sujet du colis {tracking}.
""")

FR_CLOSERS = phrasings("""
Merci d'avance.
Cordialement.
Bonne journée.
Merci de me rappeler avant {otime}.
Merci de traiter ma demande rapidement.
Dans l'attente de votre retour, cordialement.
Bien à vous.
Merci pour votre aide !
C'est la deuxième fois que je vous écris.
Je reste disponible du lundi au vendredi.
Merci de confirmer par retour de mail.
Sans réponse sous 48 h, je saisirai le médiateur.
Bonne soirée.
Merci de ne plus utiliser mes anciennes coordonnées.
Cdlt
Je vous remercie par avance de votre compréhension.
Le montant de {amount} doit m'être remboursé.
Ticket à clôturer après vérification.
Merci de votre réactivité.
Salutations.
Urgent svp.
Dossier {ticket} à mettre à jour.
Je compte sur vous.
Merci, bonne fin de journée.
Cordialement, un client mécontent.
À transmettre au service comptabilité.
Rappel prévu le {odate} à {otime}.
Merci de votre patience.
Sincères salutations.
Bon week-end.
Merci
Je vous remercie.
""")

FR_NEUTRAL = phrasings("""
Ma commande n° {order} n'est toujours pas arrivée.
Je n'ai toujours rien reçu, cela fait trois semaines que j'attends.
J'ai été débité de {amount} au lieu de {amount2}.
La remise de {pct} n'a pas été appliquée sur ma facture.
L'article réf. {ref} est arrivé cassé.
Le livreur devait passer hier matin, personne n'est venu.
Je souhaite retourner 2 articles de la commande {order}.
Depuis la dernière mise à jour, l'appli ne trouve plus ma commande {order}.
Votre site affiche une erreur 504 depuis ce matin.
Le produit {ref} est indiqué en stock mais la commande est annulée.
Le remboursement m'a été promis pour la semaine prochaine.
J'ai reçu la taille 42 au lieu de la 40.
Le colis {tracking} n'a pas bougé depuis mardi dernier.
Le lot {lot} semble défectueux, 3 pièces sur 12 ne fonctionnent pas.
Le remboursement prend plus de 14 jours ouvrés.
La carte se terminant par {last4} a été débitée deux fois.
Le ticket {ticket} a été fermé sans réponse.
Mon abonnement de {amount} par mois a augmenté de {pct}.
L'écran du modèle {ref} clignote depuis la mise à jour 2.4.1.
Votre hotline est injoignable le soir et le week-end.
Le code promo BIENVENUE10 est refusé.
Je n'ai reçu que 3 colis sur 4.
Est-il possible d'être livré{e} un samedi ?
L'article {ref} est en rupture depuis deux mois.
La garantie de 2 ans couvre-t-elle la panne de l'article {ref} ?
La commande {order} serait partie ce matin d'après le mail.
Quel est le délai pour un échange sur la commande {order} ?
Le colis pèse 12,5 kg, les frais de port de {amount} sont abusifs.
L'appli plante à chaque ouverture sur la version 5.2.
Le retour doit se faire sous 30 jours, c'est bien ça ?
Le chèque cadeau n° {giftcard} n'est pas accepté.
La TVA à {pct} est mal calculée sur le devis {quote}.
""")

FR_CLAUSES = {
    "name": phrasings("""
Je m'appelle {name} et je suis client{e} chez vous depuis {year}.
Le dossier est au nom de {title} {last}.
C'est {name} qui a passé la commande.
Merci de transmettre ma demande à votre collègue {name}.
La facture doit être établie au nom de {name}.
Mon conjoint, {name2}, est également titulaire du compte.
Le colis a été remis à {title} {last}, au rez-de-chaussée.
Je suis {name}, je vous contacte pour la troisième fois.
Le contrat a été signé par {title} {name} le {date}.
Vous pouvez demander {title} {last} à l'accueil.
"""),
    "who": phrasings("""
Je suis {name}, joignable au {phone}.
Contact : {name}, {email}.
{name} – {phone}
Mes coordonnées : {name}, {addr}.
{title} {last} est joignable à l'adresse {email}.
Merci de rappeler {name} au {phone}.
Coordonnées vérifiées avec {title} {name} : {email}, {phone}.
Expéditeur : {name} <{email}>
"""),
    "loc": phrasings("""
Je viens de déménager à {city}, merci de mettre à jour mon dossier.
Je pars vivre {enpays} le mois prochain, comment récupérer mes commandes ?
Livrez-vous {enregion} ? Votre site ne propose pas ma région.
Le colis est parti {de_city} il y a dix jours.
Je suis en déplacement à {city} toute la semaine.
Le magasin {de_city} m'a dit de vous contacter.
Je suis actuellement {enpays}, la livraison devra attendre mon retour.
Ma mère habite à {city}, c'est elle qui réceptionnera le colis.
Votre agence {de_city} ne répond plus au téléphone.
Je vis {enpays} : livrez-vous à l'étranger ?
"""),
    "org": phrasings("""
Je travaille chez {employer}, merci de livrer à mon bureau.
J'ai vu le même article moins cher chez {shop}.
Mon employeur, {employer}, prend en charge la moitié de l'abonnement.
Je suis hospitalisé{e} {a_hopital}, merci de reporter la livraison.
Ma fille est scolarisée {a_ecole}, la facture doit mentionner l'établissement.
Le colis a été déposé à l'accueil de l'entreprise {employer} au lieu de chez
  moi.
Je suis salarié{e} de la société {company}.
Ma banque, {bank}, a bloqué le paiement.
Le magasin {shop} {de_city} refuse de reprendre l'article.
Je vous écris depuis mon travail chez {employer}, ne m'appelez pas sur mon
  portable.
"""),
    "when": phrasings("""
Le colis {tracking} est bloqué au dépôt depuis le {date}.
Le livreur est passé à {time} alors que le créneau était l'après-midi.
La facture {invoice} du {date} comporte une erreur de {amount}.
La livraison était prévue le {date} entre {time} et {time2}.
Mon avoir de {amount} expire le {date}.
Le point relais ferme à {time}, impossible de récupérer le colis.
Pouvez-vous annuler la commande {order} passée le {date} ?
Le montant prélevé le {date} ne correspond pas ({amount}).
Le service client ferme à {time}, c'est trop tôt.
Le suivi indique livré le {date} à {time}, mais je n'ai rien reçu.
Je serai absent{e} du {date} au {date2}, merci de décaler la livraison.
J'ai commandé en {month} et je n'ai toujours rien reçu.
Dernière connexion à mon espace client : {stamp}, depuis plus rien.
Je suis abonné{e} depuis {year} et c'est la première fois que ça arrive.
"""),
    "mail": phrasings("""
Mon adresse e-mail est {email}.
Vous pouvez me répondre sur {email}.
Merci d'envoyer la facture à {email}.
Je n'ai reçu aucun mail sur {email}.
Nouvelle adresse mail : {email}.
Mon identifiant de connexion est {email}.
Écrivez-moi plutôt à {email}, l'ancienne boîte est fermée.
Le lien de réinitialisation part toujours vers {email}.
Contact : {email}
La confirmation a été envoyée à {email} par erreur.
"""),
    "tel": phrasings("""
Vous pouvez me joindre au {phone}.
Mon numéro de portable a changé : {phone}.
Rappelez-moi au {phone} après {time}.
Tél. : {phone}
Le livreur peut appeler le {phone}.
J'ai essayé de vous appeler depuis le {phone} sans succès.
Numéro fixe : {phone}, ne pas appeler le week-end.
Merci de laisser un message au {phone}.
Le numéro {phone} n'est plus attribué, merci de le supprimer.
Je suis joignable au {phone} jusqu'à {time}.
"""),
    "url": phrasings("""
Mon site : {url}
Le lien {url} renvoie une erreur 404.
J'ai trouvé le même produit moins cher sur {url}.
Voici ma boutique en ligne : {url}, merci de corriger la fiche.
Mon profil professionnel est en ligne : {profile}.
Le lien de paiement {url} ne s'ouvre pas.
Nos conditions générales sont sur {url}.
Les photos du colis abîmé sont ici : {share}
Le formulaire {url} refuse mon inscription.
Merci de retirer mon profil public {profile} de votre annuaire.
"""),
    "addr": phrasings("""
Ma nouvelle adresse est {addr}.
Merci de livrer au {addr}.
J'ai déménagé au {addr} depuis le {date}.
Adresse de facturation : {addr}.
Le colis doit partir au {addr}, pas à l'ancienne adresse.
Je réside désormais au {addr}.
Adresse de livraison : {street}, code postal {cp}, {city}.
Livraison au {street} (bâtiment B, 3e étage), {cp} {city}.
Le point relais est trop loin, livrez plutôt au {street} à {city}.
J'habite {street}, CP {cp}.
"""),
    "cp": phrasings("""
Le code postal {cp} n'est pas accepté par votre formulaire.
Mon code postal est le {cp}.
CP : {cp}
Code postal : {cp}, ville : {city}.
Votre site indique que le code postal {cp} n'est pas desservi.
J'ai saisi le code postal {cp} mais la ville ne s'affiche pas.
Le CP {cp} correspond bien à {city}.
Changement de code postal : {cp}.
Ville : {city}, CP {cp}.
Le code postal de livraison est faux, c'est {cp}.
"""),
    "dob": phrasings("""
Je suis {ne} le {dob}.
Date de naissance : {dob}.
Pour vérification, ma date de naissance est le {dob}.
{title} {last}, {ne} le {dob}, souhaite clôturer son compte.
DDN {dob}
Titulaire du compte : {ne} le {dob} à {city}.
Votre formulaire refuse ma date de naissance ({dob}).
{Ne} le : {dob}
Pour l'ouverture du compte : {ne} le {dob}.
Date de naiss. {dob}, merci de corriger l'année.
"""),
    "nir": phrasings("""
Mon numéro de sécurité sociale est le {nir}.
N° de sécu : {nir}
Mon NIR ({nir}) figure sur l'attestation jointe.
Numéro d'assuré social : {nir}.
La mutuelle me demande mon numéro de sécurité sociale : {nir}.
Voici mon n° SS {nir} pour le remboursement.
Le numéro de sécu {nir} est mal imprimé sur ma carte.
Mon numéro de sécu est {nir}, ma carte Vitale est en cours de renouvellement.
Sécurité sociale : {nir}
Pour la prise en charge, mon numéro de sécurité sociale : {nir}.
"""),
    "siren": phrasings("""
Notre SIREN : {siren}.
L'entreprise {company} est immatriculée sous le SIREN {siren}.
siren : {siren}
Numéro SIREN de la société : {siren}.
Nous sommes immatriculés au RCS {de_city} sous le numéro {siren}.
Merci d'indiquer notre n° SIREN {siren} sur les factures.
Le SIREN {siren} correspond à notre ancienne raison sociale.
Facturation à {company}, SIREN {siren}.
Vérifiez le numéro SIREN {siren} sur votre devis.
Mon auto-entreprise a le SIREN {siren}.
"""),
    "siret": phrasings("""
SIRET : {siret}
Notre numéro SIRET est le {siret}.
Le SIRET {siret} de notre établissement {de_city} doit figurer sur la facture.
Merci de mettre à jour le siret : {siret}.
Établissement secondaire, SIRET {siret}.
Le n° SIRET indiqué ({siret}) est celui du siège.
Votre site refuse notre SIRET {siret}, pourtant valide.
Facture à libeller avec le SIRET {siret}.
siret {siret}
Pour le compte pro, notre SIRET : {siret}.
"""),
    "tva": phrasings("""
Notre numéro de TVA intracommunautaire est {tva}.
TVA intracom : {tva}
N° TVA : {tva}
Merci d'ajouter notre numéro de TVA {tva} sur la facture.
La facture ne mentionne pas notre n° de TVA ({tva}).
Identifiant TVA {tva}, exonération à appliquer.
Numéro de TVA de la société {company} : {tva}.
TVA : {tva}
Notre numéro de TVA a changé, c'est désormais {tva}.
Le numéro de TVA {tva} est pourtant valide, je l'ai vérifié.
"""),
    "iban": phrasings("""
Merci de rembourser sur mon IBAN {iban}.
Mon nouvel IBAN : {iban}.
Voici mes coordonnées bancaires : IBAN {iban}.
Le prélèvement doit se faire sur le compte {iban}.
IBAN : {iban}
Le virement a été fait depuis l'IBAN {iban}.
Je vous joins mon RIB, IBAN {iban}, BIC {bic}.
Mes coordonnées bancaires ont changé, nouvel IBAN {iban}.
Le remboursement de {amount} est à verser sur {iban}.
Compte à débiter : {iban}.
"""),
    "card": phrasings("""
J'ai payé avec la carte {card}.
Ma carte {card} a été débitée deux fois.
Le paiement par carte n° {card} a été refusé.
Carte bancaire : {card}, expiration {exp}.
Le débit de {amount} sur ma carte {card} n'est pas de moi.
Merci de recréditer la carte {card}.
Numéro de carte : {card}
J'ai fait opposition sur la carte {card} hier.
La transaction avec la CB {card} apparaît en double.
Pouvez-vous retirer la carte {card} de mon compte ?
"""),
    "ip": phrasings("""
La connexion suspecte venait de l'adresse IP {ip}.
Mon adresse IP est {ip}, elle est bloquée par votre pare-feu.
Le journal indique une tentative depuis {ip} à {time}.
IP : {ip}
Je me connecte depuis {ip} et le site reste bloqué.
Votre système a banni l'IP {ip} par erreur.
Tentatives de connexion échouées depuis {ip}.
L'adresse {ip} n'est pas la mienne.
Accès refusé pour l'adresse IP {ip}.
Connexion inconnue détectée : {ip}.
"""),
}

FR_CS = phrasings("""
Bonjour, je n'ai toujours pas reçu ma commande {order}. Je suis joignable au
  {phone} toute la journée. {name}
bonjour jai demenage, ma nouvelle adresse c'est {addr}. merci de changer pour
  les prochaines livraisons
Le livreur a déposé le colis chez {title} {last} au lieu du {street}. Je n'ai
  rien pu récupérer.
Bonjour, je souhaite être remboursé{e} de {amount} sur mon compte {iban}.
  Commande {order} annulée le {date}. Merci.
{title} {last} a appelé à {time} : sa carte {card} a été débitée deux fois.
  Rappel à faire au {phone}.
Changement d'adresse mail : l'ancienne n'est plus valide, merci d'utiliser
  {email}. Cordialement, {name}
Suite à une tentative de connexion depuis {ip}, le compte de {name} a été
  bloqué. Le client demande un déblocage.
slt c'est {name}, mon colis est jamais arrivé. rappelez moi au {phone} svp
Bonjour, pour finaliser mon dossier mutuelle : {name}, {ne} le {dob}, n° de
  sécu {nir}. Merci.
Nous sommes la société {company}, SIRET {siret}. Merci de corriger la raison
  sociale sur la facture {invoice}.
Facture à refaire : notre numéro de TVA est {tva} et non celui indiqué.
  Contact comptabilité : {email2}.
Bonjour, merci de me rappeler demain entre {time} et {time2} au {phone}.
  C'est pour un problème de facturation.
Client mécontent : {name} attend un remboursement de {amount} depuis le
  {date}. IBAN communiqué : {iban}.
{title} {last} signale que le colis a été laissé devant la porte au {addr}.
  Il a disparu.
Bonjour, je ne reçois plus vos mails sur {email}. Pouvez-vous vérifier ? Mon
  numéro client est le {custno}.
Demande de rappel : {title} {name}, {phone}, au sujet de la résiliation de
  son abonnement.
bonjour je suis {ne} le {dob} et votre site me dit que je suis mineur{e} ???
  merci de corriger
Votre technicien est passé au {street} à {city} mais personne ne m'a
  prévenu. Je suis joignable au {phone}.
Je conteste le prélèvement de {amount} du {date} sur la carte {card}. Je
  n'ai jamais commandé cet article.
Pour la création du compte pro : {company}, SIREN {siren}, TVA {tva}.
  Contact : {name}.
Bonjour, mon conjoint {name2} a passé commande avec mon adresse mail {email}.
  Pouvez-vous dissocier nos comptes ?
ma cb {card} a ete refusee 3 fois alors que jai de l'argent dessus, c'est
  quoi le probleme
Retour d'appel : {name} confirme son adresse de livraison, {addr}. RAS.
Bonjour, j'ai changé de banque. Nouvel IBAN pour les prélèvements : {iban}.
  Ancien compte clôturé le {date}.
Alerte sécurité : connexion inhabituelle depuis l'IP {ip} sur le compte
  {email}. Mot de passe réinitialisé.
Bonjour, voici mon attestation : {title} {name}, numéro de sécurité sociale
  {nir}.¶Adresse : {addr}.
Le colis {tracking} devait arriver le {date}. Personne au {street}, {cp}
  {city} n'a rien reçu. Contact : {phone}.
Merci de rectifier mon nom : c'est {name} et non pas comme écrit sur la
  facture. Mail : {email}
Entreprise {company} (SIRET {siret}) : la livraison de 40 palettes prévue le
  {date} n'a pas eu lieu.
Bonjour, pouvez-vous supprimer mon ancien numéro {phone} et garder
  seulement le {phone2} ?
jai essaye de me connecter depuis {ip} mais ca marche pas, compte {email},
  merci de regarder
{title} {last} ({phone}) souhaite être rappelé{e} au sujet du devis {quote}
  de {amount}.
Bonjour, je suis auto-entrepreneur, SIREN {siren}. Je voudrais une facture à
  ce nom : {name}, {addr}.
Remboursement validé pour {name} : {amount} sur l'IBAN {iban} sous 5 jours
  ouvrés.
Bonjour, mon fils a utilisé ma carte {card} sans autorisation. Merci
  d'annuler la commande {order}.
Date de naissance erronée sur le contrat de {title} {last} : il faut mettre
  {dob}. Le reste est correct.
Livraison impossible : le digicode du {street} a changé. Appeler {title}
  {last} au {phone} avant de passer.
Madame, Monsieur, je vous prie de résilier mon contrat.¶{name}¶{addr}¶
  Tél : {phone}
Bonjour, la mutuelle refuse le remboursement car le NIR {nir} ne correspond
  pas. Pouvez-vous vérifier ?
Le client signale un double débit de {amount}. Carte : {card}. IP de la
  commande : {ip}.
hello, nouvelle adresse: {street} {cp} {city}. et mon tel c'est {phone}.
  merci!
Bonjour, votre facture mentionne un mauvais SIRET. Le bon est {siret}.
  Merci, {name}, service achats.
Pouvez-vous envoyer le formulaire de rétractation à {email} ? Je ne suis pas
  chez moi avant le {date}.
Bonjour. Je soussigné{e} {name}, {ne} le {dob} à {city}, demande la
  suppression de toutes mes données (RGPD).
On m'a raccroché au nez deux fois ! Rappelez-moi au {phone} ou écrivez à
  {email}.
Bonjour, le virement de {amount} a été fait depuis le compte {iban} le
  {date}. Merci de valider la commande {order}.
Nouveau contact facturation pour {company} : {name}, {email2}, {phone}.
Je confirme l'adresse : {street}, code postal {cp}. La ville est bien
  {city}.
bonjour, c moi {name} jai pas recu le rembourssement de {amount}, mon iban c
  {iban}
Tentatives de paiement refusées depuis l'adresse IP {ip}. Carte utilisée :
  {card}. Compte suspendu par précaution.
Merci d'indiquer notre TVA intracommunautaire {tva} et notre SIREN {siren}
  sur toutes les factures.
Bonjour, je m'appelle {name}. J'ai reçu un colis qui ne m'est pas destiné,
  adressé à {name2}, au {street}.
Pour le remboursement des soins : {name}, sécurité sociale {nir}, IBAN
  {iban}.
Colis refusé par {title} {last} le {date} à {time} : emballage abîmé.
  Renvoyer au {addr}.
Bonjour, je vous contacte pour {title} {last}, qui n'a pas d'adresse mail.
  Son numéro : {phone}.
Relance n°3 : j'attends toujours le remboursement sur ma carte {card}.
  Commande {order} du {date}.
mon adresse ip c'est {ip} je pense, le site dit acces refuse depuis hier
Inscription au programme fidélité : {name}, {ne} le {dob}, {email}.
Bonjour, notre nouvelle adresse de facturation : {company}, {street}, {cp}
  {city}. SIRET inchangé : {siret}.
Le livreur a appelé le {phone} mais c'est le numéro de mon ancien logement.
  Merci de noter : {phone2}.
Service fraude : connexions au compte {email} depuis {ip} puis {ip2} en dix
  minutes.
Bonjour, je travaille chez {employer} à {city} et je ne peux pas réceptionner
  en journée. Pouvez-vous livrer le samedi ?
Mon fils est hospitalisé {a_hopital} depuis le {date}. Merci de suspendre
  l'abonnement, je vous rappelle au {phone}.
Commande passée sur {url} le {stamp}, jamais reçue. {name}
Bonjour, je me suis installé{e} {enpays} en {month}. Pouvez-vous fermer mon
  compte ? {email}
Réclamation de {title} {last} (magasin {shop} {de_city}) : la marchandise
  n'a pas été livrée le {date}.
Bonjour, je suis enseignant{e} {a_ecole}. La commande {order} est pour ma
  classe, facture au nom de l'établissement svp.
Note : {name} a appelé le {date} à {time} depuis {city}, carte {card} bloquée
  par sa banque, {bank}.
slt je suis a {city} jusqu'au {date}, vous pouvez livrer chez ma soeur ? elle
  habite {street}
Candidature spontanée : {name}, {email}, profil {profile}.
Erreur de livraison : le colis est parti {enregion} au lieu {de_city}.
Le technicien envoyé par {company} n'est pas venu le {date} entre {time} et
  {time2}. Merci de me rappeler.
Alerte : connexion le {stamp} depuis {ip} (localisation : {pays}). Compte
  {email} verrouillé.
Bonjour, j'ai acheté ce robot chez {shop} en {month}, il est encore garanti ?
  Ticket de caisse au nom de {name}.
Mon employeur {employer} me rembourse l'abonnement : merci d'envoyer les
  factures à {email2}.
""")

FR_CS_NEG = phrasings("""
Bonjour, ma commande {order} est arrivée incomplète : il manque 2 articles
  sur 5. Merci de renvoyer le reste.
Le colis {tracking} est indiqué livré depuis hier soir mais je n'ai rien reçu.
  Que faire ?
J'ai été prélevé de {amount} au lieu de {amount2}. Merci de corriger et de
  me rembourser la différence.
Votre code promo de {pct} ne marche pas sur l'article {ref}. C'est de la
  publicité mensongère.
bonjour la livraison est prevue jeudi mais je serai absent, on peut decaler ?
  commande {order}
Le remboursement de la facture {invoice} ({amount}) n'apparaît toujours pas
  sur mon compte.
Rappel effectué ce matin, client absent. Nouvel essai prévu demain. Ticket
  {ticket}.
L'aspirateur réf. {ref} acheté il y a trois mois ne charge plus. Il est encore
  sous garantie (2 ans).
Je voudrais échanger la taille M contre une taille L, commande {order}.
  Merci.
Votre service client ne répond jamais le matin. J'attends depuis 45 minutes
  au téléphone !
Le devis {quote} de {amount} HT a expiré la semaine dernière. Pouvez-vous le
  renouveler au même tarif ?
Commande {order} : 3 colis sur 4 reçus, le dernier est bloqué au centre de
  tri depuis vendredi.
trop decu, article {ref} casse a la livraison, je veux un remboursement
  complet ({amount})
Lot {lot} défectueux : merci de rappeler tous les produits concernés avant
  la fin du mois.
Le prix est passé de {amount} à {amount2} en une semaine, soit +{pct}.
  Pourquoi ?
Bonjour, est-ce que le produit {ref} est compatible avec la version 3.2 ?
  Merci d'avance.
Le point relais a fermé sans prévenir, mon colis {tracking} a été retourné
  à l'expéditeur.
Incident {ticket} résolu : remboursement de {amount} effectué ce jour.
La facture {invoice} indique une TVA à {pct} au lieu de 5,5 %. Merci de
  corriger.
Bonjour, la carte cadeau {giftcard} affiche un solde de 0 € alors que
  j'avais {amount} dessus.
J'ai commandé il y a dix jours, toujours rien d'expédié. Numéro de commande
  {order}.
Mon abonnement a été renouvelé automatiquement hier pour {amount}. Je veux
  l'annuler.
""")

# ---------------------------------------------------------------------------
# English phrasings
# ---------------------------------------------------------------------------

EN_OPENERS = phrasings("""
Hi,
Hello, I'm writing about order {order}.
Dear Sir or Madam,
Following our phone call on {odate}, here are the details you asked for.
Good evening,
Re: order {order}
Subject: update to my account details.
I'm following up on ticket {ticket}.
As agreed during the call on {odate} at {otime}, please find my details below.
Agent note:
Hi there, quick update on my account.
Hello, I have a problem with the delivery scheduled for {odate}.
Hey,
Customer record update ({ticket}).
Hi, my {amount} order was not what I ordered.
Request received via the contact form.
Hello, the {amount} refund promised on {odate} never arrived.
Hi, I would like to change my personal details.
Further to the email I received this morning at {otime}:
Complaint about item ref. {ref}.
Hello, I've been a customer for over 10 years and I'm very disappointed.
Inbound call on {stamp}, customer asked for an update.
Hello team,
Hi, your {pct} discount code doesn't work.
Comment left in the customer portal on {odate}:
Hi, I received a damaged item (order {order}).
Dear Customer Services, I am chasing this up again.
Hello, regarding incident {ticket}, here are my details.
Message forwarded by the support desk:
Hi, I haven't been able to log in since {odate}.
hiya,
Hello, this is about parcel {tracking}.
""")

EN_CLOSERS = phrasings("""
Thanks in advance.
Kind regards.
Have a nice day.
Please call me back before {otime}.
Please deal with this quickly.
I look forward to hearing from you.
Best wishes.
Thanks for your help!
This is the second time I've written to you.
I'm available Monday to Friday.
Please confirm by email.
If I don't hear back within 48 hours I will escalate this.
Have a good evening.
Please stop using my old details.
Cheers
Thank you for your understanding.
I expect a refund of {amount}.
Ticket can be closed once checked.
Thanks for the quick response.
Regards.
Urgent please.
Ticket {ticket} to be updated.
I'm counting on you.
Thanks, have a good afternoon.
Yours, an unhappy customer.
Please pass this on to the billing team.
Callback booked for {odate} at {otime}.
Thanks for your patience.
Yours faithfully.
Have a good weekend.
thx
Many thanks.
""")


EN_NEUTRAL = phrasings("""
My order {order} still hasn't arrived.
I've been waiting three weeks and still nothing.
I was charged {amount} instead of {amount2}.
The {pct} discount wasn't applied to my invoice.
Item ref. {ref} arrived broken.
The driver was supposed to come yesterday morning but never showed up.
I want to return 2 items from order {order}.
Since the last update the app can't find my order {order}.
Your website has shown a 504 error since this morning.
Product {ref} shows as in stock but my order was cancelled.
The refund was promised for next week.
I received a size 12 instead of a size 10.
Parcel {tracking} hasn't moved since last Tuesday.
Batch {lot} looks faulty, 3 out of 12 units don't work.
The refund is taking more than 14 working days.
The card ending in {last4} was charged twice.
Ticket {ticket} was closed without a reply.
My {amount} monthly subscription went up by {pct}.
The screen on model {ref} has flickered since update 2.4.1.
Your helpline can't be reached in the evenings or at weekends.
The promo code WELCOME10 is rejected.
I only received 3 parcels out of 4.
Is a Saturday delivery possible for order {order}?
Item {ref} has been out of stock for two months.
Does the 2-year warranty cover the fault on item {ref}?
Order {order} apparently shipped this morning, according to the email.
How long do I have to exchange order {order}?
The parcel weighs 12.5 kg, {amount} for shipping is outrageous.
The app crashes every time I open it on version 5.2.
Returns have to be made within 30 days, is that right?
Gift card {giftcard} isn't accepted.
Quote {quote} still shows {pct} VAT instead of zero.
""")

EN_CLAUSES = {
    "name": phrasings("""
My name is {name} and I've been a customer since {year}.
The account is in the name of {title} {last}.
It was {name} who placed the order.
Please pass my request on to your colleague {name}.
The invoice should be made out to {name}.
My partner, {name2}, is also on the account.
The parcel was signed for by {title} {last}, a neighbour.
This is {name}, contacting you for the third time.
The contract was signed by {title} {name} on {date}.
You can ask for {title} {last} at reception.
"""),
    "who": phrasings("""
This is {name}, you can reach me on {phone}.
Contact: {name}, {email}.
{name} – {phone}
My details: {name}, {addr}.
Customer {title} {last} can be reached at {email}.
Please call {name} back on {phone}.
Details confirmed with {title} {name}: {email}, {phone}.
Sender: {name} <{email}>
"""),
    "loc": phrasings("""
I've just moved to {city}, please update my account.
I'm moving to {country} next month, how do I get my orders?
Do you deliver to {region}? Your site doesn't list it.
The parcel left {city} ten days ago.
I'm travelling in {country} all week.
The {city} store told me to contact you.
I'm in {country} right now, the delivery will have to wait until I'm back.
My mother lives in {city}, she will take the parcel.
Your {city} branch doesn't answer the phone anymore.
I live in {country}, do you ship abroad?
"""),
    "org": phrasings("""
I work at {employer} in {city}, so please deliver to the office.
I saw the same item cheaper at {shop}.
My employer, {employer}, pays half of the subscription.
I'm currently in {hospital}, please postpone the delivery.
My daughter goes to {school}, the invoice must name the school.
The parcel was left at the front desk of {employer} instead of my home.
I'm an employee of {company}.
My bank, {bank}, blocked the payment.
The {shop} store in {city} refused to take the item back.
I'm writing from work at {employer}, please don't call my mobile.
"""),
    "when": phrasings("""
Parcel {tracking} has been stuck at the depot since {date}.
The courier came at {time} even though the slot was in the afternoon.
Invoice {invoice} dated {date} has a {amount} error.
Delivery was due on {date} between {time} and {time2}.
My {amount} store credit expires on {date}.
The pickup point closes at {time}, I can't collect the parcel.
Can you cancel order {order} placed on {date}?
The amount taken on {date} doesn't match ({amount}).
Customer service closes at {time}, that's too early.
Tracking says delivered on {date} at {time}, but nothing arrived.
I'll be away from {date} to {date2}, please hold the delivery.
I ordered back in {month} and still have nothing.
Last login to my account: {stamp}, nothing works since.
I've been a subscriber since {year} and this never happened before.
"""),
    "mail": phrasings("""
My email address is {email}.
You can reply to {email}.
Please send the invoice to {email}.
I haven't received any emails at {email}.
New email address: {email}.
My login is {email}.
Please write to {email} instead, the old mailbox is closed.
The password reset link keeps going to {email}.
Email: {email}
The confirmation was sent to {email} by mistake.
"""),
    "tel": phrasings("""
You can reach me on {phone}.
My mobile number has changed: {phone}.
Call me back on {phone} after {time}.
Tel: {phone}
The driver can call {phone}.
I tried calling you from {phone} with no luck.
Landline: {phone}, please don't call at weekends.
Please leave a message on {phone}.
The number {phone} is no longer mine, please remove it.
I'm reachable at {phone} until {time}.
"""),
    "url": phrasings("""
My website: {url}
The link {url} gives a 404 error.
I found the same product cheaper on {url}.
Here is my online shop: {url}, please fix the listing.
My professional profile is at {profile}.
The payment link {url} won't open.
Our terms and conditions are at {url}.
Photos of the damaged parcel are here: {share}
The sign-up form at {url} rejects my details.
Please remove my public profile {profile} from your directory.
"""),
    "addr": phrasings("""
My new address is {addr}.
Please deliver to {addr}.
I moved to {addr} on {date}.
Billing address: {addr}.
The parcel must go to {addr}, not the old address.
I now live at {addr}.
Delivery address: {street}, {city}.
Please leave it at {street} (side door, 2nd floor).
The parcel locker is too far, deliver to {street} instead.
I live at {street}, near the station.
"""),
    "cp": phrasings("""
My {zipword} is {cp}.
Your checkout rejects the {zipword} {cp}.
{Zipword}: {cp}
The {zipword} on my account is wrong, it should be {cp}.
Your site says {cp} is outside the delivery area.
I typed {zipword} {cp} but no address comes up.
{city}, {zipword} {cp}, that's where the parcel should go.
New {zipword}: {cp}.
Delivery refused for {zipword} {cp}, why?
Please double-check the {zipword}, it is {cp}.
"""),
    "dob": phrasings("""
I was born on {dob}.
Date of birth: {dob}.
For verification, my date of birth is {dob}.
{title} {last}, born {dob}, wants to close the account.
DOB: {dob}
The account holder was born on {dob} in {city}.
Your form rejects my date of birth ({dob}).
D.O.B. {dob}
To open the account: date of birth {dob}.
My date of birth is {dob}, please fix the year.
"""),
    "ssn": phrasings("""
My SSN is {ssn}.
SSN: {ssn}
For the credit check, my social security number is {ssn}.
Your form rejected my SSN ({ssn}).
Social Security number {ssn} is on the W-9 I sent.
Please delete my social security number {ssn} from your records.
SS#: {ssn}
I entered {ssn} as my SSN but it says invalid.
Tax ID (SSN) for the invoice: {ssn}.
My social is {ssn}, the account is under my name.
"""),
    "card": phrasings("""
I paid with card {card}.
My card {card} was charged twice.
The payment with card number {card} was declined.
Card: {card}, expiry {exp}.
The {amount} charge on my card {card} wasn't me.
Please refund card {card}.
Card number: {card}
I cancelled card {card} yesterday.
The transaction on {card} shows up twice.
Can you remove card {card} from my account?
"""),
    "iban": phrasings("""
Please refund to my IBAN {iban}.
My new IBAN: {iban}.
Here are my bank details: IBAN {iban}.
The direct debit should come from account {iban}.
IBAN: {iban}
The transfer was made from IBAN {iban}.
My bank details are IBAN {iban}, BIC {bic}.
I've changed banks, new IBAN {iban}.
The {amount} refund should be paid to {iban}.
Account to debit: {iban}.
"""),
    "ip": phrasings("""
The suspicious login came from IP address {ip}.
My IP address is {ip} and your firewall blocks it.
The log shows an attempt from {ip} at {time}.
IP: {ip}
I'm connecting from {ip} and the site is still blocked.
Your system banned IP {ip} by mistake.
Failed login attempts from {ip}.
The address {ip} is not mine.
Access denied for IP address {ip}.
Unknown login detected: {ip}.
"""),
}

EN_CS = phrasings("""
Hi, I still haven't received order {order}. I'm reachable on {phone} all day.
  {name}
hi i moved house, new address is {addr}. pls update it for the next
  deliveries thx
The courier left the parcel with {title} {last} instead of at {street}. I
  couldn't get it back.
Hello, I'd like a refund of {amount} to my account {iban}. Order {order} was
  cancelled on {date}. Thanks.
{title} {last} called at {time}: card {card} was charged twice for the same
  order. Call back on {phone}.
Email change: the old one no longer works, please use {email}. Kind regards,
  {name}
After a login attempt from {ip}, the account of {name} was locked. Customer
  is asking for it to be unlocked.
hey its {name}, my parcel never turned up. call me back on {phone} asap
Hello, to complete my insurance file: {name}, born {dob}. Please confirm
  receipt to {email}.
Please call me tomorrow between {time} and {time2} on {phone}. It's about a
  billing problem.
Unhappy customer: {name} has been waiting for a {amount} refund since
  {date}. IBAN provided: {iban}.
{title} {last} reports the parcel was left outside the door at {addr}. It
  has disappeared.
Hi, I no longer get your emails at {email}. Could you check? My customer
  number is {custno}.
Callback request: {title} {name}, {phone}, about cancelling the
  subscription.
hi my date of birth is {dob} and ur website says im under 18??? pls fix
Your engineer came to {street} in {city} but nobody told me. You can reach
  me on {phone}.
I dispute the {amount} charge of {date} on card {card}. I never ordered this
  item.
My partner {name2} ordered using my email address {email}. Can you split
  our accounts?
my card {card} got declined 3 times and there's money on it, whats going on
Call-back note: customer {name} confirmed delivery address {addr}. Nothing
  else to report.
Hello, I've switched banks. New IBAN for direct debits: {iban}. Old account
  closed on {date}.
Security alert: unusual login from IP {ip} on account {email}. Password has
  been reset.
Parcel {tracking} was due on {date}. Nobody at {street}, {city} received
  anything. Contact: {phone}.
Please correct my name: it's {name}, not what's printed on the invoice.
  Email: {email}
Could you remove my old number {phone} and keep only {phone2}?
tried to log in from {ip} but it doesnt work, account {email}, can u have a
  look
{title} {last} ({phone}) would like a call back about quote {quote} for
  {amount}.
Refund approved for {name}: {amount} to IBAN {iban} within 5 working days.
Hello, my son used my card {card} without permission. Please cancel order
  {order}.
Wrong date of birth on the contract of {title} {last}: it should be {dob}.
  Everything else is correct.
Delivery failed: the door code at {street} has changed. Call {title} {last}
  on {phone} before coming.
Dear Sir or Madam, please cancel my contract.¶{name}¶{addr}¶Tel: {phone}
Customer reports a double charge of {amount}. Card: {card}. Order IP: {ip}.
hiya new address: {street}, {city}. and my number is {phone}. cheers!
Could you send the cancellation form to {email}? I'm not home until {date}.
Hello. I am {name}, born on {dob}. I am requesting deletion of all my
  personal data (GDPR).
I got hung up on twice! Call me back on {phone} or email {email}.
Hello, the {amount} transfer was made from account {iban} on {date}. Please
  release order {order}.
New billing contact for {company}: {name}, {email2}, {phone}.
I confirm the address: {street}, {city}. Please don't send anything to the
  old one.
hi its {name} i never got my refund of {amount}, my iban is {iban}
Declined payment attempts from IP address {ip}. Card used: {card}. Account
  suspended as a precaution.
Hello, my name is {name}. I received a parcel that isn't mine, addressed to
  {name2} at {street}.
Parcel refused by {title} {last} on {date} at {time}: damaged packaging.
  Return to {addr}.
Hi, I'm writing on behalf of {title} {last}, who doesn't use email. Their
  number: {phone}.
Third reminder: I'm still waiting for the refund to my card {card}. Order
  {order} of {date}.
my ip is {ip} i think, the site says access denied since yesterday
Loyalty scheme sign-up: {name}, date of birth {dob}, {email}.
The driver called {phone} but that's my old flat. Please note: {phone2}.
Agent note: {title} {name} verified with DOB {dob} and postcode. Address
  updated to {street}.
Hi, can you update the cardholder name on card {card} to {name}? Thanks.
Fraud team: logins for {email} came from {ip} and {ip2} within ten minutes.
hello, i'm {name} and i was born {dob}, can i still get the student
  discount? lol
Please send the replacement to {addr}. Ring {phone} if nobody answers the
  door.
Bank details for the refund: {name}, IBAN {iban}, BIC {bic}.
Hi, I booked an engineer for {date} at {street}. Please confirm by text on
  {phone}.
Hi, I work at {employer} in {city} and can't be home during the day. Can you
  deliver on Saturdays?
My son has been in {hospital} since {date}. Please pause the subscription,
  I'll call back from {phone}.
Ordered on {url} on {stamp}, never received. {name}
Hello, I moved to {country} in {month}. Can you close my account? {email}
Complaint from {title} {last} ({shop}, {city} store): the goods were not
  delivered on {date}.
Hi, I teach at {school}. Order {order} is for my class, please invoice the
  school.
Note: {name} called on {date} at {time} from {city}, card {card} blocked by
  their bank, {bank}.
hey im in {city} until {date}, can u deliver to my sister instead? she lives
  at {street}
Job application: {name}, {email}, profile {profile}.
Wrong delivery: the parcel went to {region} instead of {city}.
The engineer sent by {company} never came on {date} between {time} and
  {time2}. Please call me back.
Alert: login on {stamp} from {ip} (location: {country}). Account {email}
  locked.
For the background check: {name}, DOB {dob}, SSN {ssn}. Please confirm by
  email to {email}.
Hello, my SSN {ssn} is printed on the tax form you mailed to {addr}. Please
  remove it.
Your site says my {zipword} {cp} is invalid, but I do live in {city}. {name}
hi found the form at {url} but it wont take my {zipword} {cp}, pls help
I bought this at {shop} in {month}, is it still under warranty? Receipt is
  in the name of {name}.
My employer {employer} pays for the subscription, please send invoices to
  {email2}.
""")

EN_CS_NEG = phrasings("""
Hello, order {order} arrived incomplete: 2 of the 5 items are missing.
  Please send the rest.
Parcel {tracking} has shown as delivered since last night but I got nothing.
  What now?
I was charged {amount} instead of {amount2}. Please correct it and refund the
  difference.
Your {pct} promo code doesn't work on item {ref}. That's false advertising.
hi delivery is booked for thursday but i'll be out, can we move it? order
  {order}
The refund for invoice {invoice} ({amount}) still isn't showing on my
  account.
Called back this morning, customer not available. Next attempt tomorrow.
  Ticket {ticket}.
The vacuum cleaner ref. {ref} bought three months ago won't charge. It's
  still under warranty (2 years).
I'd like to swap the size M for a size L, order {order}. Thank you.
Your customer service never answers in the morning. I've been on hold for 45
  minutes!
Quote {quote} for {amount} ex VAT expired last week. Can you renew it at the
  same price?
Order {order}: 3 of 4 parcels received, the last one has been stuck at the
  sorting centre since Friday.
so disappointed, item {ref} broken on arrival, i want a full refund
  ({amount})
Batch {lot} is faulty: please recall all affected products before the end of
  the month.
The price went from {amount} to {amount2} in one week, that's +{pct}. Why?
Hello, is product {ref} compatible with version 3.2? Thanks in advance.
The pickup point closed without notice, my parcel {tracking} went back to
  the sender.
Incident {ticket} resolved: refund of {amount} issued today.
Invoice {invoice} shows {pct} VAT instead of 5%. Please correct it.
Hi, gift card {giftcard} shows a zero balance but I had {amount} on it.
I ordered ten days ago and nothing has shipped yet. Order number {order}.
My subscription renewed automatically yesterday for {amount}. I want to
  cancel it.
""")

PHRASES = {
    "fr": {
        "openers": FR_OPENERS,
        "closers": FR_CLOSERS,
        "neutral": FR_NEUTRAL,
        "clauses": FR_CLAUSES,
        "cs": FR_CS,
        "csneg": FR_CS_NEG,
    },
    "en": {
        "openers": EN_OPENERS,
        "closers": EN_CLOSERS,
        "neutral": EN_NEUTRAL,
        "clauses": EN_CLAUSES,
        "cs": EN_CS,
        "csneg": EN_CS_NEG,
    },
}


def items(text: str) -> list[str]:
    """A comma-separated list of values."""
    return [item.strip() for item in text.split(",")]


# ---------------------------------------------------------------------------
# Value lists (shared by both splits: they are values, not sentence shapes)
# ---------------------------------------------------------------------------

# City -> postal codes: a département prefix (+ a 3-digit tail drawn from the
# usual "x00" / "x10" endings) or, for Paris, Lyon, Marseille, Corsica and the
# overseas départements, the actual list.
FR_CITIES: dict[str, str | list[str]] = {
    "Paris": [f"750{n:02d}" for n in range(1, 21)],
    "Lyon": [f"6900{n}" for n in range(1, 10)],
    "Marseille": [f"130{n:02d}" for n in range(1, 17)],
    "Toulouse": "31",
    "Nantes": "44",
    "Lille": "59",
    "Bordeaux": "33",
    "Rennes": "35",
    "Strasbourg": "67",
    "Montpellier": "34",
    "Nice": "06",
    "Grenoble": "38",
    "Dijon": "21",
    "Angers": "49",
    "Reims": "51",
    "Toulon": "83",
    "Brest": "29",
    "Limoges": "87",
    "Tours": "37",
    "Amiens": "80",
    "Metz": "57",
    "Besançon": "25",
    "Perpignan": "66",
    "Orléans": "45",
    "Caen": "14",
    "Rouen": "76",
    "Nancy": "54",
    "Pau": "64",
    "Mulhouse": "68",
    "Poitiers": "86",
    "Avignon": "84",
    "Ajaccio": ["20000", "20090"],
    "Bastia": ["20200", "20600"],
    "Annecy": "74",
    "Chambéry": "73",
    "Valence": "26",
    "Nîmes": "30",
    "Vannes": "56",
    "Quimper": "29",
    "Lorient": "56",
    "Bayonne": "64",
    "Colmar": "68",
    "Troyes": "10",
    "Chartres": "28",
    "Cherbourg": "50",
    "Niort": "79",
    "Albi": "81",
    "Clermont-Ferrand": "63",
    "Aix-en-Provence": "13",
    "Villeurbanne": "69",
    "La Rochelle": "17",
    "Saint-Étienne": "42",
    "Fort-de-France": ["97200", "97234"],
    "Cayenne": ["97300"],
    "Pointe-à-Pitre": ["97110"],
}
# (preposition, name): the preposition is outside the span.
FR_COUNTRIES = [
    ("en ", "Belgique"),
    ("en ", "Suisse"),
    ("en ", "Espagne"),
    ("en ", "Italie"),
    ("en ", "Allemagne"),
    ("en ", "Irlande"),
    ("au ", "Canada"),
    ("au ", "Portugal"),
    ("au ", "Maroc"),
    ("au ", "Luxembourg"),
    ("au ", "Québec"),
    ("aux ", "États-Unis"),
]
FR_REGIONS = items(
    "Bretagne, Normandie, Alsace, Provence, Corse, Auvergne, Bourgogne, "
    "Occitanie, Savoie, Vendée, Lorraine, Picardie"
)
FR_STREET_TYPES = [
    ("rue", 30),
    ("avenue", 10),
    ("av.", 4),
    ("boulevard", 6),
    ("bd", 4),
    ("place", 4),
    ("chemin", 4),
    ("impasse", 4),
    ("quai", 3),
    ("cours", 3),
    ("route", 3),
    ("allée", 4),
]
FR_STREET_NAMES = items(
    "de la Paix, Victor Hugo, du Moulin, des Lilas, Pasteur, de la République, Jean "
    "Jaurès, Foch, du Général Leclerc, Gambetta, de Verdun, des Tilleuls, du Stade, "
    "de l'Église, des Écoles, de la Gare, du Château, des Vignes, Émile Zola, Jean "
    "Moulin, de Bretagne, de Strasbourg, Haussmann, Voltaire, Carnot, "
    "Denfert-Rochereau, de la Liberté, Paul Bert, des Acacias, des Peupliers, du "
    "Port, de la Mairie, Lafayette, Marcel Pagnol, Anatole France, Pierre Curie, "
    "des Marronniers, du Commerce, de la Fontaine, des Cerisiers"
)
# Small businesses (B2B customers, with SIREN/SIRET/VAT), plus Faker names.
FR_COMPANIES = items(
    "Boulangerie du Centre, Transports Rapides, Atelier Lumière, Menuiserie des "
    "Alpes, Garage de la Gare, Imprimerie Moderne, Fromagerie des Trois Vallées, "
    "Pharmacie du Marché, Cabinet Horizon Conseil, Électricité Services Plus, Les "
    "Jardins de Provence, Optique Vision Nord"
)
FR_EMPLOYERS = items(
    "Airbus, Renault, Capgemini, Decathlon, Michelin, Thales, Sodexo, Veolia, "
    "Dassault Systèmes, Groupe Horizon, Transports Rapides, Cabinet Horizon "
    "Conseil, Imprimerie Moderne"
)
FR_SHOPS = items(
    "Carrefour, Fnac, Leroy Merlin, Darty, Intermarché, Monoprix, Castorama, "
    "Boulanger, Pharmacie du Marché, Boulangerie du Centre, Optique Vision Nord, "
    "Maison du Monde Déco"
)
FR_BANKS = items(
    "Crédit Agricole, BNP Paribas, Société Générale, La Banque Postale, LCL, "
    "Boursorama, Caisse d'Épargne, Crédit Mutuel"
)
FR_HOSPITALS = [
    ("au ", "CHU de Nantes"),
    ("au ", "CHU de Bordeaux"),
    ("au ", "CHU de Grenoble"),
    ("à l'", "hôpital Necker"),
    ("à l'", "hôpital Saint-Louis"),
    ("à l'", "Institut Curie"),
    ("à la ", "clinique du Parc"),
    ("à la ", "Pitié-Salpêtrière"),
    ("au ", "centre hospitalier de Vannes"),
    ("à la ", "clinique Saint-Jean"),
]
FR_SCHOOLS = [
    ("au ", "lycée Jean Moulin"),
    ("au ", "lycée Henri-IV"),
    ("au ", "collège Victor Hugo"),
    ("au ", "collège Paul Bert"),
    ("à l'", "école Jules Ferry"),
    ("à l'", "école primaire des Tilleuls"),
    ("à l'", "université de Nantes"),
    ("à l'", "IUT de Lannion"),
    ("à ", "Sciences Po"),
    ("à l'", "université Lyon 2"),
]
FR_EMAIL_DOMAINS = items(
    "gmail.com, orange.fr, free.fr, laposte.net, hotmail.fr, wanadoo.fr, yahoo.fr, "
    "sfr.fr, outlook.fr, icloud.com, protonmail.com"
)
FR_MONTHS = items(
    "janvier, février, mars, avril, mai, juin, juillet, août, septembre, octobre, "
    "novembre, décembre"
)
EN_MONTHS = items(
    "January, February, March, April, May, June, July, August, September, October, "
    "November, December"
)
FR_WEEKDAYS = items("lundi, mardi, mercredi, jeudi, vendredi, samedi, dimanche")
EN_WEEKDAYS = items("Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday")
# City -> (state, ZIP prefixes): the ZIP agrees with the city.
US_CITIES = {
    "New York": ("NY", ["100", "101", "102"]),
    "Chicago": ("IL", ["606"]),
    "Houston": ("TX", ["770"]),
    "Phoenix": ("AZ", ["850"]),
    "Seattle": ("WA", ["981"]),
    "Denver": ("CO", ["802"]),
    "Boston": ("MA", ["021"]),
    "Portland": ("OR", ["972"]),
    "Atlanta": ("GA", ["303"]),
    "Miami": ("FL", ["331"]),
    "San Diego": ("CA", ["921"]),
    "Minneapolis": ("MN", ["554"]),
    "Philadelphia": ("PA", ["191"]),
    "Baltimore": ("MD", ["212"]),
    "Cleveland": ("OH", ["441"]),
    "Nashville": ("TN", ["372"]),
    "Washington": ("DC", ["200"]),
}
# City -> outward codes of its postcodes.
UK_CITIES = {
    "London": ["SW1A", "E1", "N7", "SE15", "W1U", "NW3", "EC2A"],
    "Manchester": ["M1", "M14", "M20"],
    "Birmingham": ["B1", "B15", "B29"],
    "Leeds": ["LS1", "LS6"],
    "Glasgow": ["G1", "G12"],
    "Bristol": ["BS1", "BS8"],
    "Liverpool": ["L1", "L17"],
    "Sheffield": ["S1", "S10"],
    "Edinburgh": ["EH1", "EH9"],
    "Cardiff": ["CF10", "CF24"],
    "Leicester": ["LE1", "LE2"],
    "Nottingham": ["NG1", "NG7"],
    "Brighton": ["BN1", "BN2"],
    "Oxford": ["OX1", "OX4"],
    "Cambridge": ["CB1", "CB2"],
    "York": ["YO1", "YO10"],
}
UK_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
EN_COUNTRIES = items(
    "Canada, Ireland, Spain, France, Germany, Mexico, Australia, Portugal, Italy, "
    "Japan, Scotland, Belgium"
)
EN_REGIONS = {
    "US": items("Texas, California, Oregon, Florida, Ohio, Colorado, Vermont, Maine"),
    "GB": items("Yorkshire, Cornwall, Kent, Devon, Wales, Norfolk, Cumbria, Essex"),
}
EN_STREET_NAMES = items(
    "Baker, Elm, Oak, Maple, Main, High, Church, Station, Park, Mill, Cedar, Pine, "
    "Lake, Hill, Victoria, Queen, Fifth, Second, Pennsylvania, Sunset, Market, "
    "Broad, Chestnut, Walnut, Willow, Bridge, Orchard, Riverside, Union, Highland, "
    "Grove, Kensington, Abbey, Downing"
)
EN_STREET_TYPES = [
    ("Street", 20),
    ("St.", 5),
    ("St", 4),
    ("Avenue", 8),
    ("Ave", 4),
    ("Ave.", 2),
    ("Road", 10),
    ("Rd", 3),
    ("Lane", 5),
    ("Drive", 5),
    ("Boulevard", 2),
    ("Blvd", 2),
    ("Court", 2),
    ("Place", 2),
    ("Way", 3),
    ("Close", 3),
    ("Crescent", 2),
    ("Terrace", 2),
]
EN_COMPANIES = items(
    "Northwind Traders, Bluebird Logistics, Acme Office Supply, Riverside Bakery, "
    "Summit Plumbing, Greenleaf Landscaping, Brightside Dental, Harbor Freight "
    "Lines, Oakwood Furniture, Pioneer Print Works"
)
EN_EMPLOYERS = {
    "US": items(
        "Acme Corp, Walmart, Boeing, Deloitte, Kaiser Permanente, Starbucks, "
        "Northwind Traders, Bluebird Logistics, Summit Plumbing, Accenture"
    ),
    "GB": items(
        "Acme Corp, Tesco, Rolls-Royce, Deloitte, Sainsbury's, BT Group, Northwind "
        "Traders, Oakwood Furniture, Pioneer Print Works, Accenture"
    ),
}
EN_SHOPS = {
    "US": items(
        "Target, Best Buy, Costco, Walgreens, Home Depot, Macy's, Riverside Bakery, "
        "Oakwood Furniture"
    ),
    "GB": items(
        "Tesco, Argos, John Lewis, Currys, Boots, Marks & Spencer, Riverside Bakery, "
        "Oakwood Furniture"
    ),
}
EN_BANKS = {
    "US": items("Chase, Wells Fargo, Bank of America, Capital One, Citibank"),
    "GB": items("Barclays, HSBC, Lloyds, NatWest, Monzo, Santander"),
}
# (article, name): the article is outside the span.
EN_HOSPITALS = {
    "US": [
        ("", "Mercy General Hospital"),
        ("", "Massachusetts General Hospital"),
        ("", "Johns Hopkins Hospital"),
        ("", "Cedars-Sinai"),
        ("", "St. Luke's Medical Center"),
    ],
    "GB": [
        ("", "St Mary's Hospital"),
        ("", "Guy's Hospital"),
        ("the ", "Royal Infirmary"),
        ("", "Leeds General Infirmary"),
        ("", "Addenbrooke's Hospital"),
    ],
}
EN_SCHOOLS = {
    "US": [
        ("", "Lincoln High School"),
        ("", "Roosevelt Elementary"),
        ("", "Ohio State University"),
        ("the ", "University of Texas"),
        ("", "Jefferson Middle School"),
    ],
    "GB": [
        ("", "St Peter's Primary School"),
        ("the ", "University of Leeds"),
        ("", "King's College London"),
        ("", "Oakwood Academy"),
        ("", "Hillside Grammar School"),
    ],
}
EN_EMAIL_DOMAINS = {
    "US": ["gmail.com", "yahoo.com", "outlook.com", "icloud.com", "aol.com"],
    "GB": [
        "gmail.com",
        "hotmail.co.uk",
        "btinternet.com",
        "outlook.com",
        "yahoo.co.uk",
    ],
}
UK_AREA_CODES = ["20", "161", "121", "113", "117", "131", "141", "29", "7"]
# Profile and file-sharing sites for URLs that carry a person's name or a file.
PROFILE_SITES = [
    "https://www.linkedin.com/in/{slug}",
    "https://www.facebook.com/{dotted}",
    "https://www.instagram.com/{under}",
    "https://github.com/{slug}",
]
SHARE_SITES = [
    "https://drive.google.com/file/d/{token}/view",
    "https://www.dropbox.com/s/{token}/photos.zip",
    "https://imgur.com/a/{short}",
]


# ---------------------------------------------------------------------------
# Value generators
# ---------------------------------------------------------------------------


def digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(DIGITS) for _ in range(n))


def letters(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(UPPER) for _ in range(n))


def weighted(rng: random.Random, options: list[tuple[str, int]]) -> str:
    values, weights = zip(*options, strict=True)
    return rng.choices(values, weights=weights)[0]


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def valid_phone(text: str, region: str) -> bool:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number_for_region(number, region)


def fr_phone(rng: random.Random) -> str:
    national = ""
    while not valid_phone(national, "FR"):
        national = "0" + rng.choice("1234566667799") + digits(rng, 8)
    pairs = [national[i : i + 2] for i in range(0, 10, 2)]
    formats = [
        (" ".join(pairs), 35),
        (".".join(pairs), 12),
        (national, 14),
        (f"+33 {national[1]} {national[2:4]} {' '.join(pairs[2:])}", 17),
        (f"+33 (0){national[1]} {national[2:4]} {' '.join(pairs[2:])}", 8),
        ("-".join(pairs), 8),
        ("+33" + national[1:], 4),
    ]
    text = weighted(rng, formats)
    assert valid_phone(text, "FR"), text
    return text


def us_phone(rng: random.Random) -> str:
    national = ""
    while not valid_phone(national, "US"):
        area = rng.choice("23456789") + rng.choice("01234578") + rng.choice(DIGITS)
        national = area + rng.choice("23456789") + digits(rng, 6)
    a, b, c = national[:3], national[3:6], national[6:]
    formats = [
        (f"({a}) {b}-{c}", 35),
        (f"{a}-{b}-{c}", 30),
        (f"+1 {a} {b} {c}", 15),
        (f"{a}.{b}.{c}", 10),
        (f"+1 ({a}) {b}-{c}", 10),
    ]
    text = weighted(rng, formats)
    assert valid_phone(text, "US"), text
    return text


def uk_phone(rng: random.Random) -> str:
    nsn = ""
    while not valid_phone("0" + nsn, "GB"):
        code = rng.choice(UK_AREA_CODES)
        if code == "7":
            nsn = "7" + rng.choice("4578") + digits(rng, 8)
        elif len(code) == 2:
            nsn = code + rng.choice("378") + digits(rng, 7)
        else:
            nsn = code + rng.choice("23456789") + digits(rng, 6)
    if nsn.startswith("7"):
        head, tail = nsn[:4], nsn[4:]
    elif nsn[:2] in ("20", "29"):
        head, tail = nsn[:2], f"{nsn[2:6]} {nsn[6:]}"
    else:
        head, tail = nsn[:3], f"{nsn[3:6]} {nsn[6:]}"
    text = f"+44 {head} {tail}" if rng.random() < 0.3 else f"0{head} {tail}"
    assert valid_phone(text, "GB"), text
    return text


def group(text: str, size: int = 4, sep: str = " ") -> str:
    return sep.join(text[i : i + size] for i in range(0, len(text), size))


def iban_value(rng: random.Random, faker: Faker) -> str:
    number = faker.iban()
    assert std_iban.is_valid(number), number
    return group(number) if rng.random() < 0.7 else number


def card_value(rng: random.Random) -> str:
    kind = weighted(rng, [("visa", 50), ("mc", 35), ("amex", 15)])
    if kind == "visa":
        body = "4" + digits(rng, 14)
    elif kind == "mc":
        prefix = rng.choice(
            ["51", "52", "53", "54", "55", str(rng.randint(2221, 2720))]
        )
        body = prefix + digits(rng, 15 - len(prefix))
    else:
        body = rng.choice(["34", "37"]) + digits(rng, 12)
    number = body + luhn.calc_check_digit(body)
    assert luhn.is_valid(number), number
    style = rng.random()
    if style < 0.25:
        return number
    if kind == "amex":
        return f"{number[:4]} {number[4:10]} {number[10:]}"
    return group(number, 4, "-" if style < 0.45 else " ")


def ip_value(rng: random.Random, faker: Faker) -> str:
    roll = rng.random()
    if roll < 0.1:
        return str(ipaddress.IPv6Address(faker.ipv6()))
    if roll < 0.3:
        return faker.ipv4_private()
    return faker.ipv4_public()


def nir_value(rng: random.Random, sex: str, born: date) -> str:
    roll = rng.random()
    if roll < 0.12:
        place = rng.choice(["2A", "2B"]) + f"{rng.randint(1, 366):03d}"
    elif roll < 0.18:
        place = f"97{rng.randint(1, 6)}{rng.randint(1, 34):02d}"
    else:
        dept = rng.choice([d for d in range(1, 96) if d != 20])
        place = f"{dept:02d}{rng.randint(1, 900):03d}"
    body = f"{sex}{born.year % 100:02d}{born.month:02d}{place}{rng.randint(1, 999):03d}"
    numeric = body[:5] + {"2A": "19", "2B": "18"}.get(body[5:7], body[5:7]) + body[7:]
    number = f"{body}{97 - int(numeric) % 97:02d}"
    assert std_nir.is_valid(number), number
    if rng.random() < 0.5:
        return number
    n = number
    return f"{n[0]} {n[1:3]} {n[3:5]} {n[5:7]} {n[7:10]} {n[10:13]} {n[13:]}"


def siren_number(rng: random.Random) -> str:
    body = rng.choice("123456789") + digits(rng, 7)
    number = body + luhn.calc_check_digit(body)
    assert std_siren.is_valid(number), number
    return number


def siret_number(rng: random.Random) -> str:
    if rng.random() < 0.1:  # La Poste: digit sum multiple of 5 instead of Luhn
        number = ""
        while not std_siret.is_valid(number):
            number = "356000000" + digits(rng, 5)
        return number
    body = siren_number(rng) + digits(rng, 4)
    number = body + luhn.calc_check_digit(body)
    assert std_siret.is_valid(number), number
    return number


def tva_number(rng: random.Random) -> str:
    siren = siren_number(rng)
    number = f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"
    assert std_tva.is_valid(number), number
    return number


def ordinal(day: int) -> str:
    if 10 <= day % 100 <= 20:
        return f"{day}th"
    return f"{day}{({1: 'st', 2: 'nd', 3: 'rd'}).get(day % 10, 'th')}"


def fr_date(rng: random.Random, d: date, *, short_year: bool = True) -> str:
    day = "1er" if d.day == 1 else str(d.day)
    options = [
        (f"{d.day:02d}/{d.month:02d}/{d.year}", 40),
        (f"{day} {FR_MONTHS[d.month - 1]} {d.year}", 25),
        (f"{d.year}-{d.month:02d}-{d.day:02d}", 9),
        (f"{d.day:02d}-{d.month:02d}-{d.year}", 8),
        (f"{d.day}/{d.month}/{d.year}", 8),
        (f"{d.day:02d}.{d.month:02d}.{d.year % 100:02d}", 10 if short_year else 0),
    ]
    return weighted(rng, options)


def en_date(rng: random.Random, d: date, region: str) -> str:
    month = EN_MONTHS[d.month - 1]
    if region == "US":
        options = [
            (f"{month} {d.day}, {d.year}", 35),
            (f"{d.month:02d}/{d.day:02d}/{d.year}", 30),
            (f"{d.month}/{d.day}/{d.year}", 15),
            (f"{d.year}-{d.month:02d}-{d.day:02d}", 10),
            (f"{month[:3]} {d.day}, {d.year}", 10),
        ]
    else:
        options = [
            (f"{d.day:02d}/{d.month:02d}/{d.year}", 35),
            (f"{d.day} {month} {d.year}", 30),
            (f"{ordinal(d.day)} {month} {d.year}", 15),
            (f"{d.day:02d}.{d.month:02d}.{d.year}", 10),
            (f"{d.year}-{d.month:02d}-{d.day:02d}", 10),
        ]
    return weighted(rng, options)


def random_date(rng: random.Random, first_year: int, last_year: int) -> date:
    year = rng.randint(first_year, last_year)
    month = rng.randint(1, 12)
    return date(year, month, rng.randint(1, calendar.monthrange(year, month)[1]))


def email_local(rng: random.Random, first: str, last: str, born: date) -> str:
    f = re.sub(r"[^a-z-]", "", strip_accents(first).lower())
    s = re.sub(r"[^a-z-]", "", strip_accents(last).lower())
    options = [
        (f"{f}.{s}", 35),
        (f"{f[0]}{s}", 15),
        (f"{f}{s}{rng.randint(1, 99)}", 12),
        (f"{s}.{f}", 10),
        (f"{f}_{s}", 8),
        (f"{f}{born.year % 100:02d}", 8),
        (f"{f[0]}.{s}{born.year}", 7),
        (f"{f}-{s}".replace("--", "-"), 5),
    ]
    return weighted(rng, options)


def day_month(lang: str, d: date, region: str, *, weekday: bool, year: bool) -> str:
    """A written date without a numeric form: "lundi 3 juin", "Monday, June 3"."""
    if lang == "fr":
        day = "1er" if d.day == 1 else str(d.day)
        text = f"{day} {FR_MONTHS[d.month - 1]}"
        text = f"{FR_WEEKDAYS[d.weekday()]} {text}" if weekday else text
        return f"{text} {d.year}" if year else text
    month, name = EN_MONTHS[d.month - 1], EN_WEEKDAYS[d.weekday()]
    if region == "US":
        text = f"{month} {d.day}"
        text = f"{name}, {text}" if weekday else text
        return f"{text}, {d.year}" if year else text
    text = f"{d.day} {month}"
    text = f"{name} {text}" if weekday else text
    return f"{text} {d.year}" if year else text


def clock_style(lang: str, region: str, rng: random.Random) -> str:
    if lang == "fr":
        return weighted(rng, [("h", 60), ("colon", 25), ("spaced", 15)])
    return weighted(
        rng, [("ampm", 50), ("tight", 25), ("colon", 25 if region == "GB" else 10)]
    )


def clock(hour: int, minute: int, style: str) -> str:
    """A clock time: "14h30", "14:30", "14 h 30", "2:30 pm", "2pm"."""
    h12, suffix = hour % 12 or 12, "pm" if hour >= 12 else "am"
    if style == "h":
        return f"{hour}h{minute:02d}" if minute else f"{hour}h"
    if style == "spaced":
        return f"{hour} h {minute:02d}" if minute else f"{hour} h"
    if style == "ampm":
        return f"{h12}:{minute:02d} {suffix}"
    if style == "tight":
        return f"{h12}:{minute:02d}{suffix}" if minute else f"{h12}{suffix}"
    return f"{hour}:{minute:02d}"


def timestamp(lang: str, region: str, d: date, rng: random.Random) -> str:
    """A date and time written as one value (logs, notifications)."""
    hour, minute, second = rng.randint(6, 23), rng.randint(0, 59), rng.randint(0, 59)
    iso = f"{d.year}-{d.month:02d}-{d.day:02d}"
    dmy = f"{d.day:02d}/{d.month:02d}/{d.year}"
    if lang == "fr":
        options = [
            (f"{dmy} {hour:02d}:{minute:02d}", 55),
            (f"{iso} {hour:02d}:{minute:02d}:{second:02d}", 25),
            (f"{dmy} {hour}h{minute:02d}", 20),
        ]
    else:
        h12 = hour % 12 or 12
        ampm = "PM" if hour >= 12 else "AM"
        local = (
            f"{d.month:02d}/{d.day:02d}/{d.year} {h12}:{minute:02d} {ampm}"
            if region == "US"
            else f"{dmy} {hour:02d}:{minute:02d}"
        )
        options = [
            (local, 55),
            (f"{iso}T{hour:02d}:{minute:02d}:{second:02d}Z", 20),
            (f"{iso} {hour:02d}:{minute:02d}:{second:02d}", 25),
        ]
    return weighted(rng, options)


def ssn_value(rng: random.Random) -> str:
    """A US SSN in the issued ranges: area 001-899 but not 666, group and serial
    not zero."""
    area = 666
    while area == 666:
        area = rng.randint(1, 899)
    number = f"{area:03d}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"
    a, g, s = number[:3], number[3:5], number[5:]
    return weighted(rng, [(f"{a}-{g}-{s}", 70), (f"{a} {g} {s}", 15), (number, 15)])


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", strip_accents(text).lower()).strip("-")


# ---------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Piece:
    """A rendered fragment; ``kind`` drives the informal style transform."""

    text: str
    label: str | None = None
    kind: str = "lit"  # lit (template words), name, place, date, code


@dataclass
class Persona:
    female: bool
    first: str
    last: str
    upper_last: bool
    born: date
    title: str

    @property
    def last_display(self) -> str:
        return self.last.upper() if self.upper_last else self.last


@dataclass
class World:
    """Random sources for one language and split."""

    lang: str
    split: str
    seed: int
    rng: random.Random = field(init=False)
    fakers: dict[str, Faker] = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.fakers = {}
        for offset, locale in enumerate(
            ["fr_FR", "en_US", "en_GB", "de_DE", "es_ES", "nl_BE"]
        ):
            faker = Faker(locale)
            faker.seed_instance(self.seed * 10 + offset)
            self.fakers[locale] = faker


class Text:
    """Slot values for one text, cached so that a slot repeats consistently."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.rng = world.rng
        self.lang = world.lang
        self.region = "FR" if self.lang == "fr" else self.rng.choice(["US", "GB"])
        self.cache: dict[str, list[Piece]] = {}
        self.people: dict[int, Persona] = {}
        self.values: dict[str, object] = {}

    def fit(self, phrases: list[str]) -> None:
        """Before rendering: a US SSN is only asked of a US customer."""
        assert not self.cache, "fit() must come before any slot is rendered"
        if any("{ssn}" in p for p in phrases):
            self.region = "US"

    @property
    def faker(self) -> Faker:
        return self.world.fakers[
            {"FR": "fr_FR", "US": "en_US", "GB": "en_GB"}[self.region]
        ]

    def slot(self, name: str) -> list[Piece]:
        if name not in self.cache:
            self.cache[name] = SLOTS[name](self)
        return self.cache[name]

    def person(self, index: int) -> Persona:
        if index not in self.people:
            self.people[index] = self._new_person()
        return self.people[index]

    def value(self, key: str, make: Callable[[], object]) -> object:
        """A hidden value shared by several slots (the city behind a postal code)."""
        if key not in self.values:
            self.values[key] = make()
        return self.values[key]

    def _new_person(self) -> Persona:
        female = self.rng.random() < 0.5
        first = (
            self.faker.first_name_female() if female else self.faker.first_name_male()
        )
        if self.lang == "fr":
            titles = (
                ["Mme", "Madame", "Mme", "Dr"]
                if female
                else ["M.", "Monsieur", "M.", "Dr"]
            )
        else:
            titles = (
                ["Mrs", "Ms", "Ms.", "Miss", "Dr"]
                if female
                else ["Mr", "Mr.", "Mr", "Dr"]
            )
        upper_rate = 0.15 if self.lang == "fr" else 0.04
        return Persona(
            female=female,
            first=first,
            last=self.faker.last_name(),
            upper_last=self.rng.random() < upper_rate,
            born=random_date(self.rng, 1940, 2005),
            title=self.rng.choice(titles),
        )


def lit(text: str) -> Piece:
    return Piece(text)


def code(text: str) -> Piece:
    return Piece(text, None, "code")


def full_name(t: Text, index: int) -> list[Piece]:
    p = t.person(index)
    return [Piece(f"{p.first} {p.last_display}", PERSON, "name")]


def fr_street(t: Text) -> str:
    rng = t.rng
    number = str(rng.randint(1, 180))
    if rng.random() < 0.1:
        number += " " + rng.choice(["bis", "ter"])
    if rng.random() < 0.1:
        number += ","
    name = rng.choice(FR_STREET_NAMES) if rng.random() < 0.8 else t.faker.last_name()
    return f"{number} {weighted(rng, FR_STREET_TYPES)} {name}"


def en_street(t: Text) -> str:
    rng = t.rng
    if t.region == "US":
        number = str(rng.randint(1, 9999))
    else:
        number = str(rng.randint(1, 250))
        if rng.random() < 0.12:
            number += rng.choice("ABab")
    name = rng.choice(EN_STREET_NAMES) if rng.random() < 0.8 else t.faker.last_name()
    return f"{number} {name} {weighted(rng, EN_STREET_TYPES)}"


def slot_street(t: Text) -> list[Piece]:
    street = fr_street(t) if t.lang == "fr" else en_street(t)
    return [Piece(street, STREET, "place")]


def city_name(t: Text) -> str:
    """The text's city (one per text), whether or not it is written."""
    if t.region == "FR":
        lists = list(FR_CITIES)
    elif t.region == "US":
        lists = list(US_CITIES)
    else:
        lists = list(UK_CITIES)
    return str(t.value("city", lambda: t.rng.choice(lists)))


def slot_cp(t: Text) -> list[Piece]:
    """A postal code that agrees with the text's city."""
    rng, city = t.rng, city_name(t)
    if t.region == "FR":
        codes = FR_CITIES[city]
        if isinstance(codes, list):
            postcode = rng.choice(codes)
        else:
            tail = weighted(rng, [("000", 50), ("100", 20), ("200", 15), ("300", 15)])
            postcode = codes + tail
        assert re.fullmatch(r"(0[1-9]|[1-8]\d|9[0-5])\d{3}|97[1-6]\d\d", postcode)
    elif t.region == "US":
        postcode = rng.choice(US_CITIES[city][1]) + digits(rng, 2)
        if rng.random() < 0.15:
            postcode += "-" + digits(rng, 4)
    else:
        inward = rng.choice(DIGITS) + "".join(
            rng.choice(UK_INWARD_LETTERS) for _ in range(2)
        )
        postcode = f"{rng.choice(UK_CITIES[city])} {inward}"
    return [Piece(postcode, POSTAL, "code")]


def slot_city(t: Text) -> list[Piece]:
    city = city_name(t)
    if t.region == "FR" and t.rng.random() < 0.2:
        city = city.upper()
    return [Piece(city, LOCATION, "place")]


def slot_de_city(t: Text) -> list[Piece]:
    """ "de Lyon" / "d'Angers": the preposition is outside the span."""
    city = t.slot("city")
    vowel = strip_accents(city[0].text[0]).lower() in "aeiouy"
    return [lit("d'" if vowel else "de "), *city]


def slot_country(t: Text) -> list[Piece]:
    if t.lang == "fr":
        prep, name = t.rng.choice(FR_COUNTRIES)
        return [lit(prep), Piece(name, LOCATION, "place")]
    return [Piece(t.rng.choice(EN_COUNTRIES), LOCATION, "place")]


def slot_pays(t: Text) -> list[Piece]:
    """The country name alone (French texts)."""
    return [t.slot("enpays")[1]]


def slot_region(t: Text) -> list[Piece]:
    if t.lang == "fr":
        return [lit("en "), Piece(t.rng.choice(FR_REGIONS), LOCATION, "place")]
    return [Piece(t.rng.choice(EN_REGIONS[t.region]), LOCATION, "place")]


def slot_addr(t: Text) -> list[Piece]:
    if t.region == "FR":
        sep = weighted(t.rng, [(", ", 75), (" ", 15), (" – ", 10)])
        return [*t.slot("street"), lit(sep), *t.slot("cp"), lit(" "), *t.slot("city")]
    if t.region == "GB":
        pieces = [*t.slot("street"), lit(", "), *t.slot("city")]
        pieces += [lit(" "), *t.slot("cp")]
        if t.rng.random() < 0.12:
            pieces.insert(0, lit(f"Flat {t.rng.randint(1, 12)}, "))
        return pieces
    state = US_CITIES[city_name(t)][0]
    pieces = [*t.slot("street"), lit(", "), *t.slot("city"), lit(", ")]
    pieces += [Piece(state, LOCATION, "code"), lit(" "), *t.slot("cp")]
    if t.rng.random() < 0.15:
        kind = t.rng.choice(["Apt", "Apt.", "Suite"])
        apt = f"{kind} {t.rng.randint(1, 30)}{t.rng.choice('ABCD')}"
        pieces.insert(0, lit(f"{apt}, "))
    return pieces


def slot_zipword(t: Text) -> list[Piece]:
    if t.region == "US":
        return [lit(weighted(t.rng, [("ZIP code", 50), ("zip code", 30), ("ZIP", 20)]))]
    return [lit(weighted(t.rng, [("postcode", 75), ("post code", 25)]))]


def slot_company(t: Text) -> list[Piece]:
    """A business customer: a small firm from the list, or a Faker company name
    with its legal suffix ("Colas Salmon SA", "Pearce Inc")."""
    if t.rng.random() < 0.35:
        name = ""
        while " " not in name or "," in name:
            name = t.faker.company()
    else:
        name = t.rng.choice(FR_COMPANIES if t.lang == "fr" else EN_COMPANIES)
    return [Piece(name, ORG, "place")]


def org_slot(fr: list[str], en: dict[str, list[str]]) -> Callable[[Text], list[Piece]]:
    def render(t: Text) -> list[Piece]:
        names = fr if t.lang == "fr" else en[t.region]
        return [Piece(t.rng.choice(names), ORG, "place")]

    return render


def org_with_article(
    fr: list[tuple[str, str]], en: dict[str, list[tuple[str, str]]]
) -> Callable[[Text], list[Piece]]:
    """ "au [CHU de Nantes]", "the [University of Leeds]": article outside."""

    def render(t: Text) -> list[Piece]:
        article, name = t.rng.choice(fr if t.lang == "fr" else en[t.region])
        return (
            [lit(article), Piece(name, ORG, "place")]
            if article
            else [Piece(name, ORG, "place")]
        )

    return render


def slot_employer(t: Text) -> list[Piece]:
    if t.rng.random() < 0.3:
        return t.slot("company")
    names = FR_EMPLOYERS if t.lang == "fr" else EN_EMPLOYERS[t.region]
    return [Piece(t.rng.choice(names), ORG, "place")]


def slot_url(t: Text) -> list[Piece]:
    """A site: full URL (scheme or "www.", sometimes a path) or bare domain."""
    rng, faker = t.rng, t.faker
    if rng.random() < 0.2:
        return [Piece(faker.domain_name(), URL, "code")]
    host = weighted(
        rng, [("https://www.", 40), ("https://", 25), ("http://www.", 10), ("www.", 25)]
    )
    path = faker.uri_path() if rng.random() < 0.5 else ""
    text = host + faker.domain_name() + ("/" + path if path else rng.choice(["", "/"]))
    return [Piece(text, URL, "code")]


def slot_profile(t: Text) -> list[Piece]:
    """A public profile named after the persona."""
    rng, p = t.rng, t.person(1)
    first, last = slug(p.first), slug(p.last)
    suffix = f"-{digits(rng, 4)}" if rng.random() < 0.5 else ""
    text = rng.choice(PROFILE_SITES).format(
        slug=f"{first}-{last}{suffix}",
        dotted=f"{first}.{last}".replace("-", ""),
        under=f"{first}_{last}".replace("-", ""),
    )
    return [Piece(text, URL, "code")]


def slot_share(t: Text) -> list[Piece]:
    """A file-sharing link (photos, documents)."""
    token = "".join(t.rng.choice(UPPER + UPPER.lower() + DIGITS) for _ in range(20))
    text = t.rng.choice(SHARE_SITES).format(token=token, short=token[:7])
    return [Piece(text, URL, "code")]


def slot_title(t: Text) -> list[Piece]:
    return [lit(t.person(1).title)]


def slot_last(t: Text) -> list[Piece]:
    return [Piece(t.person(1).last_display, PERSON, "name")]


def slot_email(t: Text) -> list[Piece]:
    p = t.person(1)
    local = email_local(t.rng, p.first, p.last, p.born)
    if t.lang == "fr":
        domain = t.rng.choice(FR_EMAIL_DOMAINS)
    else:
        domain = t.rng.choice(EN_EMAIL_DOMAINS[t.region])
    if t.rng.random() < 0.1:
        domain = t.faker.domain_name()
    return [Piece(f"{local}@{domain}", EMAIL, "code")]


def slot_email2(t: Text) -> list[Piece]:
    roles = (
        ["compta", "facturation", "contact", "achats"]
        if t.lang == "fr"
        else ["billing", "accounts", "info", "office"]
    )
    return [Piece(f"{t.rng.choice(roles)}@{t.faker.domain_name()}", EMAIL, "code")]


def slot_phone(t: Text) -> list[Piece]:
    maker = {"FR": fr_phone, "US": us_phone, "GB": uk_phone}[t.region]
    return [Piece(maker(t.rng), PHONE, "code")]


def slot_iban(t: Text) -> list[Piece]:
    if t.lang == "fr":
        locale = weighted(
            t.rng, [("fr_FR", 76), ("de_DE", 8), ("es_ES", 8), ("nl_BE", 8)]
        )
    else:
        locale = weighted(t.rng, [("en_GB", 60), ("de_DE", 20), ("fr_FR", 20)])
    return [Piece(iban_value(t.rng, t.world.fakers[locale]), IBAN, "code")]


def slot_dob(t: Text) -> list[Piece]:
    born = t.person(1).born
    text = fr_date(t.rng, born) if t.lang == "fr" else en_date(t.rng, born, t.region)
    return [Piece(text, DOB, "date")]


# How a non-birth date is written: a numeric or full date ("03/06/2024",
# "3 juin 2024", "June 3, 2024"), day and month ("3 juin", "June 3"), with a
# weekday ("lundi 3 juin", "Monday, June 3") and with weekday and year.
DATE_STYLES = [("full", 62), ("dm", 18), ("wdm", 12), ("wdmy", 8)]


def when(t: Text) -> tuple[date, str]:
    """The text's main (non-birth) date and how it is written."""

    def make() -> tuple[date, str]:
        return random_date(t.rng, 2023, 2025), weighted(t.rng, DATE_STYLES)

    return t.value("when", make)  # type: ignore[return-value]


def written_date(t: Text, d: date, style: str) -> Piece:
    if style == "full":
        text = (
            fr_date(t.rng, d, short_year=False)
            if t.lang == "fr"
            else en_date(t.rng, d, t.region)
        )
    else:
        text = day_month(
            t.lang, d, t.region, weekday=style.startswith("w"), year=style.endswith("y")
        )
    return Piece(text, DATE_TIME, "date")


def slot_odate(t: Text) -> list[Piece]:
    """The date of an opener or closer, independent of the body's {date}."""
    d = random_date(t.rng, 2023, 2025)
    return [written_date(t, d, weighted(t.rng, DATE_STYLES))]


def slot_otime(t: Text) -> list[Piece]:
    """The time of an opener or closer, independent of the body's {time}."""
    hour, minute = t.rng.randint(8, 18), t.rng.choice([0, 0, 15, 30, 45])
    style = clock_style(t.lang, t.region, t.rng)
    return [Piece(clock(hour, minute, style), DATE_TIME, "date")]


def slot_date(t: Text) -> list[Piece]:
    d, style = when(t)
    return [written_date(t, d, style)]


def slot_date2(t: Text) -> list[Piece]:
    """A date a few days after {date}, written the same way."""
    d, style = when(t)
    return [written_date(t, d + timedelta(days=t.rng.randint(2, 21)), style)]


def slot_month(t: Text) -> list[Piece]:
    d = random_date(t.rng, 2022, 2025)
    if t.lang == "fr":
        text = f"{FR_MONTHS[d.month - 1]} {d.year}"
    else:
        month = EN_MONTHS[d.month - 1]
        text = f"{month if t.rng.random() < 0.85 else month[:3]} {d.year}"
    return [Piece(text, DATE_TIME, "date")]


def slot_year(t: Text) -> list[Piece]:
    return [Piece(str(t.rng.randint(2008, 2022)), DATE_TIME, "date")]


def slot_stamp(t: Text) -> list[Piece]:
    d = random_date(t.rng, 2023, 2025)
    return [Piece(timestamp(t.lang, t.region, d, t.rng), DATE_TIME, "date")]


def first_time(t: Text) -> tuple[int, int, str]:
    def make() -> tuple[int, int, str]:
        hour, minute = t.rng.randint(8, 18), t.rng.choice([0, 0, 15, 30, 45])
        return hour, minute, clock_style(t.lang, t.region, t.rng)

    return t.value("time", make)  # type: ignore[return-value]


def slot_time(t: Text) -> list[Piece]:
    hour, minute, style = first_time(t)
    return [Piece(clock(hour, minute, style), DATE_TIME, "date")]


def slot_time2(t: Text) -> list[Piece]:
    """A later time the same day, written like {time} ("entre 14h et 16h30")."""
    hour, minute, style = first_time(t)
    later = hour + t.rng.randint(1, 3), t.rng.choice([0, 0, 30])
    return [Piece(clock(*later, style), DATE_TIME, "date")]


def slot_exp(t: Text) -> list[Piece]:
    """A card expiry month: a date (MM/YY)."""
    text = f"{t.rng.randint(1, 12):02d}/{t.rng.randint(26, 31)}"
    return [Piece(text, DATE_TIME, "code")]


def slot_nir(t: Text) -> list[Piece]:
    p = t.person(1)
    return [Piece(nir_value(t.rng, "2" if p.female else "1", p.born), NIR, "code")]


def slot_siren(t: Text) -> list[Piece]:
    number = siren_number(t.rng)
    return [Piece(number if t.rng.random() < 0.4 else group(number, 3), SIREN, "code")]


def slot_siret(t: Text) -> list[Piece]:
    n = siret_number(t.rng)
    text = n if t.rng.random() < 0.4 else f"{n[:3]} {n[3:6]} {n[6:9]} {n[9:]}"
    return [Piece(text, SIRET, "code")]


def slot_tva(t: Text) -> list[Piece]:
    n = tva_number(t.rng)
    text = n if t.rng.random() < 0.7 else f"{n[:2]} {n[2:4]} {group(n[4:], 3)}"
    return [Piece(text, VAT, "code")]


def slot_amount(t: Text) -> list[Piece]:
    rng = t.rng
    euros, cents = (
        rng.choice([rng.randint(5, 300), rng.randint(1000, 2500)]),
        rng.randint(0, 99),
    )
    if t.lang == "fr":
        whole = f"{euros:,}".replace(",", " ")
        options = [
            (f"{whole},{cents:02d} €", 50),
            (f"{euros} euros", 20),
            (f"{whole},{cents:02d} EUR", 15),
            (f"{euros} €", 15),
        ]
    else:
        symbol = "$" if t.region == "US" else "£"
        options = [
            (f"{symbol}{euros:,}.{cents:02d}", 60),
            (f"{symbol}{euros}", 25),
            (f"€{euros}", 15),
        ]
    return [code(weighted(rng, options))]


def slot_pct(t: Text) -> list[Piece]:
    value = t.rng.choice([5, 10, 15, 20, 25, 30, 40, 50])
    if t.lang == "fr":
        return [code(t.rng.choice([f"{value} %", f"{value}%", f"{value},5 %"]))]
    return [code(t.rng.choice([f"{value}%", f"{value}.5%", f"{value} percent"]))]


def slot_order(t: Text) -> list[Piece]:
    rng = t.rng
    year = rng.randint(2023, 2025)
    options = [
        (str(rng.randint(1_000_000, 9_999_999)), 30),
        (
            f"CMD-{year}-{digits(rng, 6)}"
            if t.lang == "fr"
            else f"{digits(rng, 3)}-{digits(rng, 7)}",
            25,
        ),
        (f"#{rng.choice(UPPER)}{digits(rng, 5)}", 20),
        (f"{rng.choice('123456789')}{digits(rng, 8)}", 15),
        (f"W{digits(rng, 9)}", 10),
    ]
    return [code(weighted(rng, options))]


def slot_ref(t: Text) -> list[Piece]:
    rng = t.rng
    options = [
        f"{letters(rng, 2)}-{digits(rng, 4)}",
        "B0" + "".join(rng.choice(UPPER + DIGITS) for _ in range(8)),  # ASIN-like
        f"SKU-{digits(rng, 5)}-{rng.choice(UPPER)}",
        f"{digits(rng, 4)}-{rng.choice(UPPER)}{rng.choice(UPPER)}",
        f"{rng.choice('34')}{digits(rng, 12)}",  # EAN-13 like
    ]
    return [code(rng.choice(options))]


def slot_tracking(t: Text) -> list[Piece]:
    rng = t.rng
    options = [
        f"6A{digits(rng, 11)}",
        f"{letters(rng, 2)}{digits(rng, 9)}{'FR' if t.lang == 'fr' else 'GB'}",
        f"1Z{digits(rng, 3)}{letters(rng, 2)}{digits(rng, 11)}",
    ]
    return [code(rng.choice(options))]


def simple_code(
    pattern: Callable[[random.Random], str],
) -> Callable[[Text], list[Piece]]:
    def render(t: Text) -> list[Piece]:
        return [code(pattern(t.rng))]

    return render


def gendered(female: str, male: str) -> Callable[[Text], list[Piece]]:
    def render(t: Text) -> list[Piece]:
        return [lit(female if t.person(1).female else male)]

    return render


SLOTS: dict[str, Callable[[Text], list[Piece]]] = {
    "name": lambda t: full_name(t, 1),
    "name2": lambda t: full_name(t, 2),
    "title": slot_title,
    "last": slot_last,
    "ne": gendered("née", "né"),
    "Ne": gendered("Née", "Né"),
    "e": gendered("e", ""),
    "email": slot_email,
    "email2": slot_email2,
    "phone": slot_phone,
    "phone2": slot_phone,
    "url": slot_url,
    "profile": slot_profile,
    "share": slot_share,
    "iban": slot_iban,
    "card": lambda t: [Piece(card_value(t.rng), CARD, "code")],
    "ip": lambda t: [Piece(ip_value(t.rng, t.faker), IP, "code")],
    "ip2": lambda t: [Piece(ip_value(t.rng, t.faker), IP, "code")],
    "ssn": lambda t: [Piece(ssn_value(t.rng), SSN, "code")],
    "street": slot_street,
    "cp": slot_cp,
    "zipword": slot_zipword,
    "Zipword": lambda t: [lit(t.slot("zipword")[0].text.capitalize())],
    "city": slot_city,
    "de_city": slot_de_city,
    "country": slot_country,
    "enpays": slot_country,
    "pays": slot_pays,
    "region": slot_region,
    "enregion": slot_region,
    "addr": slot_addr,
    "company": slot_company,
    "employer": slot_employer,
    "shop": org_slot(FR_SHOPS, EN_SHOPS),
    "bank": org_slot(FR_BANKS, EN_BANKS),
    "hospital": org_with_article(FR_HOSPITALS, EN_HOSPITALS),
    "a_hopital": org_with_article(FR_HOSPITALS, EN_HOSPITALS),
    "school": org_with_article(FR_SCHOOLS, EN_SCHOOLS),
    "a_ecole": org_with_article(FR_SCHOOLS, EN_SCHOOLS),
    "dob": slot_dob,
    "date": slot_date,
    "date2": slot_date2,
    "odate": slot_odate,
    "otime": slot_otime,
    "month": slot_month,
    "year": slot_year,
    "stamp": slot_stamp,
    "time": slot_time,
    "time2": slot_time2,
    "exp": slot_exp,
    "nir": slot_nir,
    "siren": slot_siren,
    "siret": slot_siret,
    "tva": slot_tva,
    "bic": lambda t: [code(t.faker.swift(length=t.rng.choice([8, 11])))],
    "amount": slot_amount,
    "amount2": slot_amount,
    "pct": slot_pct,
    "order": slot_order,
    "ref": slot_ref,
    "tracking": slot_tracking,
    "ticket": simple_code(
        lambda r: r.choice(
            [
                f"#{digits(r, 5)}",
                f"INC-{r.randint(2023, 2025)}-{digits(r, 4)}",
                f"T-{digits(r, 6)}",
            ]
        )
    ),
    "invoice": simple_code(
        lambda r: r.choice(
            [f"FA-{r.randint(2023, 2025)}-{digits(r, 5)}", f"INV-{digits(r, 6)}"]
        )
    ),
    "lot": simple_code(
        lambda r: r.choice([f"L{digits(r, 6)}", f"{r.randint(10, 95)}{digits(r, 3)}"])
    ),
    "quote": simple_code(lambda r: f"DEV-{digits(r, 5)}"),
    "giftcard": simple_code(
        lambda r: f"{r.choice('456')}{digits(r, 3)} {digits(r, 4)} {digits(r, 4)}"
    ),
    "last4": simple_code(lambda r: digits(r, 4)),
    "custno": simple_code(lambda r: r.choice([f"CLI-{digits(r, 6)}", digits(r, 8)])),
}

SLOT_RE = re.compile(r"\{(\w+)\}")


def render(template: str, t: Text) -> list[Piece]:
    pieces: list[Piece] = []
    pos = 0
    for match in SLOT_RE.finditer(template):
        if match.start() > pos:
            pieces.append(lit(template[pos : match.start()]))
        pieces.extend(t.slot(match.group(1)))
        pos = match.end()
    if pos < len(template):
        pieces.append(lit(template[pos:]))
    return pieces


def typo(word: str, rng: random.Random) -> str:
    i = rng.randint(1, len(word) - 2)
    kind = rng.randint(0, 2)
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == 1:
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


def informal(pieces: list[Piece], rng: random.Random) -> list[Piece]:
    """Lower case, no accents, a few typos and dropped apostrophes in template words.

    An apostrophe that ends a template piece ("l'", "d'") is kept, so that a
    span never starts in the middle of a word ("lhopital").
    """
    drop_apostrophes = rng.random() < 0.5
    out = []
    for piece in pieces:
        text = strip_accents(piece.text)
        if piece.kind != "code":
            text = text.lower()
        if piece.kind == "lit":
            text = re.sub(
                r"[A-Za-z]{5,}",
                lambda m: typo(m.group(), rng) if rng.random() < 0.08 else m.group(),
                text,
            )
            if drop_apostrophes:
                text = re.sub(r"'(?!$)", "", text)
        out.append(Piece(text, piece.label, piece.kind))
    return out


def assemble(pieces: list[Piece]) -> tuple[str, list[dict[str, object]]]:
    """Concatenate the pieces and compute the gold spans."""
    parts: list[str] = []
    entities: list[dict[str, object]] = []
    pos = 0
    previous: Piece | None = None
    for piece in pieces:
        text = piece.text
        if (
            piece.label is None
            and previous is not None
            and previous.label
            and previous.text.endswith(".")
            and text.startswith(".")
        ):
            text = text[1:]  # "42 Elm St." followed by a full stop
        if piece.label:
            entities.append({"type": piece.label, "start": pos, "end": pos + len(text)})
        parts.append(text)
        pos += len(text)
        previous = piece
    return "".join(parts), entities


# Dates, clock times, URLs and e-mail addresses that must never be left
# outside a gold span (template words and look-alikes included).
_MONTHS = "|".join(
    strip_accents(m) for m in (*FR_MONTHS, *EN_MONTHS, *(m[:3] for m in EN_MONTHS))
)
LEAKS = re.compile(
    r"\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b"
    r"|\b\d{4}-\d{2}-\d{2}\b"
    rf"|\b\d{{1,2}}(?:er|st|nd|rd|th)? (?:{_MONTHS})\b"
    rf"|\b(?:{_MONTHS}) (?:\d{{1,2}}|\d{{4}})\b"
    r"|\b(?:[01]?\d|2[0-3]) ?h(?:\d{2})?\b"
    r"|\b\d{1,2}(?::\d{2})? ?[ap]\.?m\b"
    r"|\b\d{1,2}:\d{2}\b"
    r"|\b(?:0[1-9]|1[0-2])/\d{2}\b"
    r"|https?://|\bwww\.|@"
    r"|\b[a-z0-9-]+\.(?:fr|com|net|org|info|biz|io|co\.uk)\b",
    re.IGNORECASE,
)


def check_record(record: dict) -> None:
    text = record["text"]
    end = 0
    masked = list(text)
    for entity in record["entities"]:
        assert end <= entity["start"] < entity["end"] <= len(text), record
        span = text[entity["start"] : entity["end"]]
        assert span, record
        assert span == span.strip(), record
        masked[entity["start"] : entity["end"]] = "\0" * len(span)
        end = entity["end"]
    assert MIN_LEN <= len(text) <= MAX_LEN, (len(text), text)
    assert "  " not in text, text
    leak = LEAKS.search(strip_accents("".join(masked)))
    assert leak is None, (leak, text)


# ---------------------------------------------------------------------------
# Corpus assembly
# ---------------------------------------------------------------------------


def half(items: list[str], split: str) -> list[tuple[int, str]]:
    """The phrasings (with their index in the full list) of one split."""
    start = 0 if split == "tune" else 1
    return [(i, items[i]) for i in range(start, len(items), 2)]


def neutral(phrase: str) -> bool:
    """A phrasing whose slots never render PII."""
    return set(SLOT_RE.findall(phrase)) <= NEUTRAL_SLOTS


@dataclass
class Bank:
    """The phrasings available to one language and split."""

    lang: str
    split: str

    def __post_init__(self) -> None:
        source = PHRASES[self.lang]
        self.openers = half(source["openers"], self.split)
        self.closers = half(source["closers"], self.split)
        # A text without PII only takes the openers and closers without PII.
        self.neutral_openers = [(i, p) for i, p in self.openers if neutral(p)]
        self.neutral_closers = [(i, p) for i, p in self.closers if neutral(p)]
        self.neutral = half(source["neutral"], self.split)
        self.cs = half(source["cs"], self.split)
        self.csneg = half(source["csneg"], self.split)
        self.clauses: dict[str, list[tuple[str, int, str]]] = {}
        for group_name, items in source["clauses"].items():
            label = GROUP_LABEL[group_name]
            self.clauses.setdefault(label, [])
            self.clauses[label] += [
                (group_name, i, p) for i, p in half(items, self.split)
            ]


@dataclass
class Builder:
    world: World
    bank: Bank
    counts: Counter = field(default_factory=Counter)
    cycles: dict[str, list[tuple[int, str]]] = field(default_factory=dict)

    @property
    def rng(self) -> random.Random:
        return self.world.rng

    def next_comment(self, kind: str) -> tuple[int, str]:
        """Cycle through the comments of a kind, reshuffled at every round."""
        queue = self.cycles.setdefault(kind, [])
        if not queue:
            queue.extend(getattr(self.bank, kind))
            self.rng.shuffle(queue)
        return queue.pop()

    def joiner(self, previous: list[Piece]) -> Piece:
        """Separator after a part: a phrasing may end on a value ("IBAN : FR76...")."""
        last = previous[-1].text[-1]
        if last in ",:":
            return lit(weighted(self.rng, [("\n", 50), (" ", 50)]))
        if last in ".!?)>":
            return lit(" ")
        return lit(weighted(self.rng, [("\n", 40), (". ", 40), (" – ", 10), (" ", 10)]))

    def join(self, parts: list[list[Piece]]) -> list[Piece]:
        pieces: list[Piece] = []
        for part in parts:
            if pieces:
                pieces.append(self.joiner(pieces))
            pieces += part
        return pieces

    def frame(
        self, t: Text, body: list[list[Piece]], ids: str, *, pii: bool = True
    ) -> tuple[list[Piece], str]:
        """Optional opener and closer around the body parts (``pii=False``: only
        the ones without PII)."""
        openers = self.bank.openers if pii else self.bank.neutral_openers
        closers = self.bank.closers if pii else self.bank.neutral_closers
        o_id, z_id = "o--", "z--"
        if self.rng.random() < 0.85:
            i, phrase = self.rng.choice(openers)
            body, o_id = [render(phrase, t), *body], f"o{i:02d}"
        if self.rng.random() < 0.8:
            i, phrase = self.rng.choice(closers)
            body, z_id = [*body, render(phrase, t)], f"z{i:02d}"
        return self.join(body), f"{o_id}-{ids}-{z_id}"

    def pick_clauses(self, n: int) -> list[tuple[str, int, str]]:
        """Clauses for the least-covered labels (random among the four lowest);
        one clause in four is of a random type instead, so that the types that
        comments and openers already cover (places, dates, persons) still get
        their own clause phrasings."""
        labels = sorted(
            TYPES[self.world.lang],
            key=lambda lab: (self.counts[lab], self.rng.random()),
        )
        chosen = self.rng.sample(labels[:4], n)
        for k in range(n):
            if self.rng.random() < 0.25:
                others = [lab for lab in labels if lab not in chosen]
                chosen[k] = self.rng.choice(others)
        return [self.rng.choice(self.bank.clauses[label]) for label in chosen]

    def mix(self, t: Text) -> tuple[list[Piece], str]:
        clauses = self.pick_clauses(1 if self.rng.random() < 0.4 else 2)
        t.fit([phrase for _, _, phrase in clauses])
        body = [render(phrase, t) for _, _, phrase in clauses]
        pieces, shape = self.frame(
            t, body, "-".join(f"{g}{i:02d}" for g, i, _ in clauses)
        )
        return pieces, f"mix-{shape}"

    def negmix(self, t: Text) -> tuple[list[Piece], str]:
        chosen = self.rng.sample(self.bank.neutral, 1 if self.rng.random() < 0.6 else 2)
        body = [render(phrase, t) for _, phrase in chosen]
        ids = "-".join(f"n{i:02d}" for i, _ in chosen)
        pieces, shape = self.frame(t, body, ids, pii=False)
        return pieces, f"negmix-{shape}"

    def comment(self, t: Text, kind: str) -> tuple[list[Piece], str]:
        i, phrase = self.next_comment(kind)
        t.fit([phrase])
        return render(phrase, t), f"{kind}{i:02d}"

    def attempt(self, kind: str) -> tuple[str, list[dict[str, object]], str]:
        t = Text(self.world)
        if kind in ("cs", "csneg"):
            pieces, template = self.comment(t, kind)
        else:
            pieces, template = getattr(self, kind)(t)
        if self.rng.random() < INFORMAL_RATE:
            pieces, template = informal(pieces, self.rng), template + "+inf"
        text, entities = assemble(pieces)
        assert bool(entities) == (kind in ("mix", "cs")), (kind, text, entities)
        return text, entities, f"{self.world.lang}-{template}"

    def record(self, number: int, kind: str) -> dict[str, object]:
        for _ in range(100):
            text, entities, template = self.attempt(kind)
            if MIN_LEN <= len(text) <= MAX_LEN:
                break
        self.counts.update(e["type"] for e in entities)
        lang, split = self.world.lang, self.world.split
        return {
            "id": f"{lang}-{split}-{number:04d}",
            "language": lang,
            "template": template,
            "text": text,
            "entities": entities,
        }


def plan(rng: random.Random, n: int) -> list[str]:
    n_neg = n // 4
    n_csneg = n_neg * 9 // 20
    n_cs = (n - n_neg) * 2 // 5
    kinds = ["csneg"] * n_csneg + ["negmix"] * (n_neg - n_csneg)
    kinds += ["cs"] * n_cs + ["mix"] * (n - n_neg - n_cs)
    rng.shuffle(kinds)
    return kinds


def build_split(lang: str, split: str) -> list[dict[str, object]]:
    world = World(lang, split, SEEDS[(lang, split)])
    builder = Builder(world, Bank(lang, split))
    records = [
        builder.record(i, kind)
        for i, kind in enumerate(plan(world.rng, N_TEXTS), start=1)
    ]
    for record in records:
        check_record(record)
    assert set(builder.counts) == set(TYPES[lang]), (lang, split, builder.counts)
    for label in TYPES[lang]:
        assert builder.counts[label] >= MIN_PER_TYPE, (
            lang,
            split,
            label,
            builder.counts[label],
        )
    return records


def check_phrasings() -> None:
    """Fail fast on a mistake in the phrasing lists.

    Every slot exists; no phrasing appears twice in a language (so the parity
    split cannot put one phrasing in both splits); the template words hold no
    date, time, year, URL or e-mail of their own (every such value is a
    labelled slot); the negative lists only use slots without PII; and every
    entity type of a language has clauses, of no other language's type.
    """
    for lang, lang_phrases in PHRASES.items():
        seen: set[str] = set()
        for key, value in lang_phrases.items():
            lists = value.values() if isinstance(value, dict) else [value]
            for items in lists:
                for phrase in items:
                    missing = set(SLOT_RE.findall(phrase)) - SLOTS.keys()
                    assert not missing, (phrase, missing)
                    assert phrase not in seen, phrase
                    seen.add(phrase)
                    words = strip_accents(SLOT_RE.sub("", phrase))
                    assert not LEAKS.search(words), phrase
                    assert not re.search(r"\b(19|20)\d\d\b", words), phrase
                    if key in ("neutral", "csneg"):
                        assert neutral(phrase), phrase
        groups = {GROUP_LABEL[g] for g in lang_phrases["clauses"]}  # type: ignore[union-attr]
        assert groups == set(TYPES[lang]), (lang, groups ^ set(TYPES[lang]))


def summary(name: str, lang: str, records: list[dict[str, object]]) -> str:
    counts = Counter(e["type"] for r in records for e in r["entities"])
    templates = {r["template"] for r in records}
    no_pii = sum(1 for r in records if not r["entities"])
    lengths = sorted(len(r["text"]) for r in records)
    lines = [
        f"{name}: {len(records)} texts, {len(templates)} templates, "
        f"{no_pii} without PII, length min/median/max "
        f"{lengths[0]}/{lengths[len(lengths) // 2]}/{lengths[-1]}"
    ]
    lines += [f"    {label:<16} {counts[label]:>5}" for label in TYPES[lang]]
    return "\n".join(lines)


def main() -> None:
    check_phrasings()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for lang in ("fr", "en"):
        templates: dict[str, set[str]] = {}
        for split in SPLITS:
            records = build_split(lang, split)
            templates[split] = {str(r["template"]) for r in records}
            lines = [json.dumps(r, ensure_ascii=False) + "\n" for r in records]
            (OUT_DIR / f"{lang}_{split}.jsonl").write_bytes(
                "".join(lines).encode("utf-8")
            )
            print(summary(f"{lang}_{split}", lang, records))
        assert not templates["tune"] & templates["holdout"], lang


if __name__ == "__main__":
    main()
