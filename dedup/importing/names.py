"""Splitting a full name ("ФИО") into last, first and middle name.

Russian and Ukrainian files write "Фамилия Имя Отчество"; Western exports (Google's "Name", Outlook's) write
"First Last". A patronymic (-вич, -вна, -ична; Ukrainian -івна, -ївна) fixes the order when there is one; with
two words, a common first name or a surname ending (-ов, -ева, -ский, -енко, -чук...) decides, and otherwise
the script does (Cyrillic: last name first).
"""

import re

_PATRONYMIC = re.compile(r"(?:вич|вна|ична|ьич|оглы|кызы|івна|ївна)$", re.IGNORECASE)
_SURNAME = re.compile(r"(?:ов|ев|ёв|ова|ева|ёва|ский|ская|цкий|цкая|ской|енко|чук|щук|юк|швили|дзе|ська|цька|"
                      r"ин|ын|ина|ына)$", re.IGNORECASE)
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_INITIALS = re.compile(r"^(\w\.)(\w\.)$")
# Common first names whose endings would pass for a surname's (Марина, Константин) or that are short.
FIRST_NAMES = frozenset("""
александр алексей анатолий андрей антон аркадий артём артем борис вадим валентин валерий василий виктор
виталий владимир владислав вячеслав геннадий георгий глеб григорий даниил денис дмитрий евгений егор иван игорь
илья кирилл константин леонид максим матвей михаил никита николай олег павел пётр петр роман руслан сергей
семён семен станислав степан тарас тимофей фёдор федор юрий ярослав вениамин богдан остап назар
александра алина алла анастасия анна валентина валерия вера виктория галина дарья евгения екатерина елена
жанна зинаида зоя инна ирина карина кира кристина ксения лариса лидия любовь людмила маргарита марина мария
надежда наталья наталия нина оксана олеся ольга полина раиса светлана софия софья тамара татьяна ульяна юлия
яна олена ірина наталія тетяна марія людмила оксана ганна христина
""".split())


def split_full_name(value):
    """(last_name, first_name, middle_name) of a full name; parts that can't be told are ''."""
    text = str(value or "")
    words = []
    for word in text.replace(",", " ").split():
        initials = _INITIALS.match(word)  # "Иванов И.П."
        words.extend(initials.groups() if initials else [word])
    if not words:
        return "", "", ""
    if len(words) == 1:
        return "", words[0], ""
    cyrillic = bool(_CYRILLIC.search(text))
    if len(words) >= 3:
        if _is_initial(words[0]) and _is_initial(words[1]):
            return " ".join(words[2:]), words[0], words[1]  # И. П. Иванов
        if _PATRONYMIC.search(words[2]):
            return words[0], words[1], " ".join(words[2:])  # Иванов Иван Петрович
        if _PATRONYMIC.search(words[1]):
            return " ".join(words[2:]), words[0], words[1]  # Иван Петрович Иванов
        if cyrillic:
            return words[0], words[1], " ".join(words[2:])
        return words[-1], words[0], " ".join(words[1:-1])  # John Ronald Tolkien
    first, second = words
    if _looks_first(second) and not _looks_first(first):
        return first, second, ""
    if _looks_first(first) and not _looks_first(second):
        return second, first, ""
    if _looks_surname(first) and not _looks_surname(second):
        return first, second, ""
    if _looks_surname(second) and not _looks_surname(first):
        return second, first, ""
    return (first, second, "") if cyrillic else (second, first, "")


def _is_initial(word):
    return len(word) <= 2 and word.endswith(".")


def _looks_first(word):
    return _is_initial(word) or word.casefold().replace("ё", "е") in FIRST_NAMES


def _looks_surname(word):
    return bool(_SURNAME.search(word)) and not _looks_first(word)
