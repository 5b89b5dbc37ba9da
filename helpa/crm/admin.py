from django.contrib import admin

from .models import Company, Contact

admin.site.register(Company)
admin.site.register(Contact)
