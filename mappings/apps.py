from django.apps import AppConfig


class MappingsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "mappings"
    verbose_name = "segmix mappings"

    def ready(self) -> None:
        from psycopg.types.json import set_json_loads

        from mappings.jsoncodec import loads_exact

        # psycopg decodes ``json`` columns itself (every stored event, delivery and request is
        # one); the stdlib decoder was a tenth of a worker's CPU. Exact for big integers.
        set_json_loads(loads_exact)
