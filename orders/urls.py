from django.urls import path

from orders import apis

urlpatterns = [
    path("catalog", apis.CatalogListApi.as_view(), name="catalog"),
    path("orders", apis.OrderCreateApi.as_view(), name="order-create"),
    path("orders/<str:order_id>", apis.OrderDetailApi.as_view(), name="order-detail"),
    path("onsales/<str:sku>/line", apis.LineJoinApi.as_view(), name="line"),
    path("orders/<str:order_id>/payment", apis.OrderPaymentApi.as_view(), name="order-payment"),
]
