from django.contrib import admin

from .models import Company, CompanyDomain, Contact


class CompanyDomainInline(admin.TabularInline):
    model = CompanyDomain
    extra = 1


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    inlines = [CompanyDomainInline]
    list_display = ["name", "customer_number", "legal_hold"]
    list_filter = ["legal_hold"]
    search_fields = ["name", "customer_number", "domains__domain"]


admin.site.register(Contact)
