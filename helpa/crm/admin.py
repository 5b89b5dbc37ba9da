from django.contrib import admin

from .models import Brand, Company, CompanyDomain, Contact


class CompanyDomainInline(admin.TabularInline):
    model = CompanyDomain
    extra = 1


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    inlines = [CompanyDomainInline]
    list_display = ["name", "customer_number", "brand", "legal_hold"]
    list_filter = ["legal_hold", "brand"]
    search_fields = ["name", "customer_number", "domains__domain"]


admin.site.register(Contact)


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "sender_address"]
    filter_horizontal = ["limited_agents"]
