from dify_plugin import Endpoint

import duck
from duck import files


class FilesUpload(Endpoint):
    """POST /apps/<app_id>/files/upload: store a file in Dify; answers the value to use in inputs."""

    @duck.upload_handler
    def _invoke(self, r, values, settings):
        duck.allowed_app(settings, values["app_id"])
        return duck.json_response(files.upload(self.session, r, settings.max_upload_bytes), status=201)
