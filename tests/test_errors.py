"""Tests of cpts_diag.errors: the one-line French message of every user input error."""

from cpts_diag.errors import InputError, format_message


def test_input_error_format():
    err = InputError("code commune invalide", "data.csv", 12, "ABCDE")
    assert str(err) == ("fichier « data.csv », ligne 12 : code commune invalide (valeur « ABCDE »)")
    assert (err.message, err.path, err.line, err.value) == ("code commune invalide", "data.csv", 12, "ABCDE")
    assert str(InputError("fichier introuvable", "/tmp/x.csv")) == ("fichier « /tmp/x.csv » : fichier introuvable")
    assert str(InputError("oups")) == "oups"
    assert str(InputError("a\nb", line=3, value="x\ny")) == "ligne 3 : a b (valeur « x y »)"
    assert format_message("m", "f.json", 2, line_label="territoire") == ("fichier « f.json », territoire 2 : m")
