"""dtfl:recipe_keygen — a minisign Ed25519 key pair for signing recipes."""

from __future__ import annotations

import os
from pathlib import Path

from qgis.core import (
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterString,
)

from ...errors import DtflError
from ...i18n import tr
from ...processing.base import DtflAlgorithm
from .. import keys, sign
from ._common import advanced, hidden


class RecipeKeygenAlgorithm(DtflAlgorithm):
    GROUP_ID = "recipes"
    OUTPUT_PRIVATE = "OUTPUT_PRIVATE"
    OUTPUT_PUBLIC = "OUTPUT_PUBLIC"
    PASSPHRASE = "PASSPHRASE"
    STORE_IN_AUTH_DB = "STORE_IN_AUTH_DB"
    TRUST = "TRUST"
    ORGANISATION = "ORGANISATION"

    def displayName(self) -> str:
        return tr("Create a recipe signing key")

    def shortHelpString(self) -> str:
        return tr(
            "Creates an Ed25519 key pair in minisign format: the public key (give it to those who receive your "
            "recipes; the minisign tool verifies with it too) and the secret key, encrypted with the passphrase "
            "exactly as minisign does (scrypt). Without a passphrase, keep the secret key in the QGIS "
            "authentication database (encrypted by your master password) instead of a plain file."
        )

    def initAlgorithm(self, config=None) -> None:
        self.addParameter(
            QgsProcessingParameterFileDestination(
                self.OUTPUT_PRIVATE, tr("Secret key"), tr("minisign secret key (*.key)"), optional=True
            )
        )
        self.addParameter(
            QgsProcessingParameterFileDestination(
                self.OUTPUT_PUBLIC, tr("Public key"), tr("minisign public key (*.pub)")
            )
        )
        self.addParameter(
            QgsProcessingParameterString(
                self.ORGANISATION, tr("Organisation (recipients see it as the signer)"), optional=True
            )
        )
        self.addParameter(
            hidden(
                QgsProcessingParameterString(self.PASSPHRASE, tr("Passphrase protecting the secret key"), optional=True)
            )
        )
        self.addParameter(
            QgsProcessingParameterBoolean(
                self.STORE_IN_AUTH_DB, tr("Keep the secret key in the QGIS authentication database"), True
            )
        )
        self.addParameter(
            advanced(QgsProcessingParameterBoolean(self.TRUST, tr("Add the public key to my trusted keys"), True))
        )
        self.addOutput(QgsProcessingOutputString("KEY_ID", tr("Key id")))
        self.addOutput(QgsProcessingOutputString("AUTHCFG", tr("Authentication configuration id")))

    def process(self, parameters, context, feedback):
        passphrase = (
            self.parameterAsString(parameters, self.PASSPHRASE, context) or os.environ.get(keys.PASSPHRASE_ENV) or None
        )
        organisation = self.parameterAsString(parameters, self.ORGANISATION, context).strip()
        private_path = self.parameterAsFileOutput(parameters, self.OUTPUT_PRIVATE, context)
        public_path = self.parameterAsFileOutput(parameters, self.OUTPUT_PUBLIC, context)
        in_auth = self.parameterAsBoolean(parameters, self.STORE_IN_AUTH_DB, context)
        if parameters.get(self.STORE_IN_AUTH_DB) is None and passphrase:
            in_auth = False  # a script that gives a passphrase (environment) wants a key file; the dialog defaults to the auth database
        if not passphrase and not in_auth:
            raise DtflError(tr("Give a passphrase, or keep the secret key in the QGIS authentication database."))
        key = sign.generate_keypair()
        authcfg = keys.store_secret_key_in_auth(key, organisation) if in_auth else ""
        if private_path and passphrase:
            sign.write_text_private(private_path, sign.secret_key_to_text(key, passphrase))
            feedback.pushInfo(
                tr("Secret key written to {path} (encrypted with the passphrase).").format(path=private_path)
            )
        elif private_path and not passphrase:
            private_path = ""
            feedback.pushWarning(tr("No passphrase: the secret key is kept only in the authentication database."))
        public_text = keys.public_key_text(key.public, organisation)
        sign.write_text_atomic(public_path, public_text)
        if self.parameterAsBoolean(parameters, self.TRUST, context):
            keys.add_trusted_key(organisation or Path(public_path).stem, public_text)
        self._capture.add_output(self.OUTPUT_PUBLIC, public_path)
        feedback.pushInfo(tr("Key id: {id}").format(id=key.public.key_id_hex))
        return {
            self.OUTPUT_PRIVATE: private_path,
            self.OUTPUT_PUBLIC: public_path,
            "KEY_ID": key.public.key_id_hex,
            "AUTHCFG": authcfg,
        }
